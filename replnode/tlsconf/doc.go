// Package tlsconf turns Redis 7.0's tls-* directives into Go crypto/tls
// configurations, as tls.c's tlsConfigure does for OpenSSL contexts: the
// server side (the tls-port listener, and the client certificate check
// chosen by tls-auth-clients) and the client side (the link to our master
// when tls-replication is on).
//
// It owns the rules, not the files or sockets: Load reads certificates
// through a Files the caller gives it (the server passes the filesystem,
// tests a map), and Contexts holds the current result so a reload swaps
// it atomically while listeners keep running — a new handshake uses the
// new certificate, an established connection keeps the one it agreed on.
// A failed Load leaves nothing changed, as tlsConfigure leaves the old
// SSL_CTX.
//
// What Go cannot do as OpenSSL does, and how it is mapped:
//   - tls-protocols: Go enables a contiguous range, so the lowest and the
//     highest listed version bound it (a gap such as "TLSv1 TLSv1.2" also
//     enables TLSv1.1).
//   - tls-ciphers: OpenSSL names of the TLS 1.2 suites Go implements,
//     separated by ':' (or ',' or ' '); OpenSSL keywords (DEFAULT, HIGH,
//     ...) and !/-/+ modifiers keep Go's default set; a list naming only
//     unknown suites fails, as SSL_CTX_set_cipher_list.
//   - tls-ciphersuites is accepted and has no effect: Go always offers all
//     of its TLS 1.3 suites.
//   - tls-prefer-server-ciphers, tls-session-cache-size and
//     tls-session-cache-timeout are accepted and have no effect (the config
//     package logs them as ignored when set) (Go orders
//     suites itself and resumes with session tickets); tls-session-caching
//     no turns session tickets off.
//   - tls-dh-params-file: Go has no finite-field DHE suites; the file is
//     not read.
//   - tls-key-file-pass: keys encrypted in the legacy PEM form (Proc-Type:
//     4,ENCRYPTED, as openssl rsa -aes256 writes); encrypted PKCS#8 keys
//     (BEGIN ENCRYPTED PRIVATE KEY) are refused with an error.
//
// Peer certificates are checked as Redis's SSL_VERIFY_PEER does: the chain
// must lead to the configured CA; host names and IP addresses are not
// compared (Redis does not either; replicas dial masters by IP).
package tlsconf
