// A TLS 1.3 server with Encrypted Client Hello (Go 1.24's crypto/tls), for
// the ECH lab (test/lab/). It makes (or takes) an X25519 ECH key, builds its
// ECHConfig with the given public name, prints the ECHConfigList (base64)
// for the DNS side, and serves HTTPS (h2 and http/1.1) with one certificate
// that covers the public name and the served names. It logs one JSON line
// per event on stdout:
//
//	{"ev":"listening","addr":...,"echconfiglist":...,"public_name":...}
//	{"ev":"hello","sni":...}              the ClientHello the handshake used (the inner one when ECH was accepted)
//	{"ev":"secure","sni":...,"ech":bool,"alpn":...,"port":N}   a finished handshake
//	{"ev":"handshake_error","err":...,"port":N}
//	{"ev":"request","host":...,"sni":...,"ech":bool,"proto":...,"port":N}
package main

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
)

var outMu sync.Mutex

func logEv(m map[string]any) {
	b, _ := json.Marshal(m)
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func u16(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// echConfig is one ECHConfig (draft-ietf-tls-esni, version 0xfe0d): DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256 with AES-128-GCM, no extensions.
func echConfig(id uint8, pub []byte, publicName string) []byte {
	c := []byte{id}
	c = u16(c, 0x0020) // kem_id DHKEM(X25519, HKDF-SHA256)
	c = u16(c, len(pub))
	c = append(c, pub...)
	c = u16(c, 4)      // cipher_suites
	c = u16(c, 0x0001) // HKDF-SHA256
	c = u16(c, 0x0001) // AES-128-GCM
	c = append(c, 64)  // maximum_name_length
	c = append(c, byte(len(publicName)))
	c = append(c, publicName...)
	c = u16(c, 0) // extensions
	out := u16(nil, 0xfe0d)
	out = u16(out, len(c))
	return append(out, c...)
}

func portOf(a net.Addr) int {
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

// handshakeListener finishes (and logs) each TLS handshake before net/http
// sees the connection; net/http then serves h2 or http/1.1 on it.
type handshakeListener struct {
	net.Listener
	cfg   *tls.Config
	conns chan net.Conn
}

func (l *handshakeListener) run() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			close(l.conns)
			return
		}
		go func() {
			tc := tls.Server(c, l.cfg)
			port := portOf(c.RemoteAddr())
			if err := tc.Handshake(); err != nil {
				logEv(map[string]any{"ev": "handshake_error", "err": err.Error(), "port": port})
				c.Close()
				return
			}
			st := tc.ConnectionState()
			logEv(map[string]any{"ev": "secure", "sni": st.ServerName, "ech": st.ECHAccepted, "alpn": st.NegotiatedProtocol, "port": port})
			l.conns <- tc
		}()
	}
}

func (l *handshakeListener) Accept() (net.Conn, error) {
	c, ok := <-l.conns
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "address:port to listen on")
	certFile := flag.String("cert", "", "PEM certificate chain (must cover the public name too)")
	keyFile := flag.String("key", "", "PEM private key")
	publicName := flag.String("public-name", "public.example", "the ECH config's public name (the outer SNI)")
	echKey := flag.String("ech-key", "", "X25519 ECH private key, base64 (made anew if empty)")
	configID := flag.Int("config-id", 7, "the ECH config id")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "certificate:", err)
		os.Exit(1)
	}
	var priv *ecdh.PrivateKey
	if *echKey != "" {
		raw, err := base64.StdEncoding.DecodeString(*echKey)
		if err == nil {
			priv, err = ecdh.X25519().NewPrivateKey(raw)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ech key:", err)
			os.Exit(1)
		}
	} else if priv, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
		fmt.Fprintln(os.Stderr, "ech key:", err)
		os.Exit(1)
	}
	config := echConfig(uint8(*configID), priv.PublicKey().Bytes(), *publicName)
	list := append(u16(nil, len(config)), config...)

	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			logEv(map[string]any{"ev": "hello", "sni": h.ServerName, "port": portOf(h.Conn.RemoteAddr())})
			return &cert, nil
		},
		EncryptedClientHelloKeys: []tls.EncryptedClientHelloKey{{Config: config, PrivateKey: priv.Bytes(), SendAsRetry: true}},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	hl := &handshakeListener{Listener: ln, cfg: cfg, conns: make(chan net.Conn)}
	go hl.run()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ech := r.TLS != nil && r.TLS.ECHAccepted
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		logEv(map[string]any{"ev": "request", "host": r.Host, "sni": sni, "ech": ech, "proto": r.Proto, "path": r.URL.Path, "port": portOf(mustAddr(r.RemoteAddr))})
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!doctype html><title>%s</title><p>xsni-ok %s ech=%v proto=%s</p>\n", r.Host, r.Host, ech, r.Proto)
	})}
	logEv(map[string]any{"ev": "listening", "addr": ln.Addr().String(), "echconfiglist": base64.StdEncoding.EncodeToString(list), "public_name": *publicName})
	if err := srv.Serve(hl); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}

func mustAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		return &net.TCPAddr{}
	}
	return a
}
