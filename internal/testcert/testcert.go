// Package testcert generates the certificates the tests and the fake server
// need: a CA, a server certificate for loopback, and merchant (client)
// certificates as PEM pairs and PKCS#12 bundles in the formats merchants meet
// (legacy 3DES and RC2 as downloaded from the merchant platform, OpenSSL 3
// AES, with or without the CA chain).
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// CA is a certificate authority that signs server and merchant
// certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	PEM  []byte
}

// NewCA makes a self-signed CA valid from an hour ago for ten years.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"redpack test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, PEM: pemBlock("CERTIFICATE", der)}, nil
}

// Pool returns a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Leaf is a signed certificate with its key.
type Leaf struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte // PKCS#8
	CA      *CA
}

// TLS returns the leaf as a tls.Certificate with the chain.
func (l *Leaf) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{l.Cert.Raw}, PrivateKey: l.Key, Leaf: l.Cert}
}

// Server issues a server certificate for 127.0.0.1, ::1 and localhost.
func (ca *CA) Server() (*Leaf, error) {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().AddDate(1, 0, 0),
	}, false)
}

// MerchantOptions shape a merchant certificate.
type MerchantOptions struct {
	// NotBefore and NotAfter default to an hour ago and a year ahead.
	NotBefore, NotAfter time.Time
	// RSA selects a 2048-bit RSA key (as WeChat Pay issues) instead of a
	// faster P-256 key.
	RSA bool
}

// Merchant issues a client certificate whose subject CN is cn (WeChat Pay
// puts the mch_id there).
func (ca *CA) Merchant(cn string, o MerchantOptions) (*Leaf, error) {
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().AddDate(1, 0, 0)
	}
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"redpack test merchant"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore:   o.NotBefore,
		NotAfter:    o.NotAfter,
	}, o.RSA)
}

func (ca *CA) issue(tmpl *x509.Certificate, useRSA bool) (*Leaf, error) {
	var key crypto.Signer
	var err error
	if useRSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial()
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("PRIVATE KEY", pk), CA: ca}, nil
}

// P12Format names a PKCS#12 encoding.
type P12Format int

// PKCS#12 formats.
const (
	P12Legacy3DES P12Format = iota // pbeWithSHAAnd3-KeyTripleDES-CBC, SHA-1 MAC (merchant platform downloads)
	P12LegacyRC2                   // RC2-40 certificates, 3DES key (older OpenSSL default)
	P12Modern                      // AES-256-CBC, PBKDF2, SHA-256 MAC (OpenSSL 3 default)
)

// PKCS12 encodes the leaf and its key in format f with password. withChain
// adds the CA certificate, as the merchant platform's bundle does.
func (l *Leaf) PKCS12(f P12Format, password string, withChain bool) ([]byte, error) {
	enc := map[P12Format]*pkcs12.Encoder{P12Legacy3DES: pkcs12.LegacyDES, P12LegacyRC2: pkcs12.LegacyRC2, P12Modern: pkcs12.Modern2023}[f]
	if enc == nil {
		return nil, fmt.Errorf("testcert: unknown PKCS#12 format %d", f)
	}
	var chain []*x509.Certificate
	if withChain && l.CA != nil {
		chain = []*x509.Certificate{l.CA.Cert}
	}
	return enc.Encode(l.Key, l.Cert, chain, password)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// ClosedAddr returns a loopback address nobody listens on: a dial to it is
// refused.
func ClosedAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}
