module dpready.local/controlplane/images

go 1.26.0
