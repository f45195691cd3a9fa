//go:build tools

// Pins helm's command in go.mod/go.sum; build.sh builds helm.sh/helm/v4/cmd/helm from here.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
