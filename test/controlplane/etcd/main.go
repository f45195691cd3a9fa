// etcd for the local control plane: the stock etcd server, built from its Go module
// at the version k8s.io/kubernetes pins, because Debian's etcd is too old for it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
