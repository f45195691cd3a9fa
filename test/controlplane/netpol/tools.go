//go:build tools

// Pins kube-router's command in go.mod/go.sum; policy-engine.sh builds
// github.com/cloudnativelabs/kube-router/v2/cmd/kube-router from here, unchanged.
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
