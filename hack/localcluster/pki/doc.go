// Package pki generates the certificates, keys and kubeconfigs a local
// cluster needs, with Go's crypto only (no openssl).
//
// It owns: a self-signed CA, serving and client certificates signed by it,
// the service-account signing key pair, and kubeconfig rendering. It must not
// start processes or decide where files live beyond the directory it is given.
package pki
