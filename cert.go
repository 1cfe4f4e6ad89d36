package redpack

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadPKCS12File reads the merchant certificate bundle (apiclient_cert.p12)
// into c.PKCS12. The password stays c.PKCS12Password (empty means MchID).
func (c *Config) LoadPKCS12File(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("redpack: read PKCS#12 file: %w", err)
	}
	c.PKCS12 = b
	return nil
}

// LoadPEMFiles reads apiclient_cert.pem and apiclient_key.pem into
// c.CertPEM and c.KeyPEM.
func (c *Config) LoadPEMFiles(certPath, keyPath string) error {
	cert, err := os.ReadFile(certPath)
	if err != nil {
		return fmt.Errorf("redpack: read certificate file: %w", err)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		// The error names the path only; the key bytes are never read into it.
		return fmt.Errorf("redpack: read key file: %w", err)
	}
	c.CertPEM, c.KeyPEM = cert, key
	return nil
}

// ErrCertificate matches every NewClient error about the merchant
// certificate (missing, unreadable, wrong password, key mismatch, expired).
// The messages never contain the password or key material.
var ErrCertificate = errors.New("redpack: merchant certificate")

// loadCertificate parses the merchant certificate once. It accepts a
// PKCS#12 bundle (legacy RC2/3DES as downloaded from the merchant platform,
// with or without the CA chain, or OpenSSL 3 AES) or a PEM pair.
func loadCertificate(cfg *Config, now time.Time) (*tls.Certificate, error) {
	var cert tls.Certificate
	switch {
	case len(cfg.PKCS12) > 0 && (len(cfg.CertPEM) > 0 || len(cfg.KeyPEM) > 0):
		return nil, fmt.Errorf("%w: give PKCS12 or CertPEM+KeyPEM, not both", ErrCertificate)
	case len(cfg.PKCS12) > 0:
		password := cfg.PKCS12Password
		if password == "" {
			password = cfg.MchID
		}
		key, leaf, chain, err := pkcs12.DecodeChain(cfg.PKCS12, password)
		if err != nil {
			if errors.Is(err, pkcs12.ErrIncorrectPassword) {
				return nil, fmt.Errorf("%w: PKCS#12: wrong password (the default is the mch_id)", ErrCertificate)
			}
			if errors.Is(err, pkcs12.ErrDecryption) {
				return nil, fmt.Errorf("%w: PKCS#12: cannot decrypt (wrong password?)", ErrCertificate)
			}
			// The decoder's messages describe structure, never the password.
			return nil, fmt.Errorf("%w: PKCS#12: cannot decode: %v", ErrCertificate, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: PKCS#12: unsupported private key type", ErrCertificate)
		}
		cert.PrivateKey = signer
		cert.Leaf = leaf
		cert.Certificate = append(cert.Certificate, leaf.Raw)
		for _, ca := range chain {
			cert.Certificate = append(cert.Certificate, ca.Raw)
		}
		if !publicKeyMatches(leaf.PublicKey, signer.Public()) {
			return nil, fmt.Errorf("%w: PKCS#12: private key does not match the certificate", ErrCertificate)
		}
	case len(cfg.CertPEM) > 0 && len(cfg.KeyPEM) > 0:
		c, err := tls.X509KeyPair(cfg.CertPEM, cfg.KeyPEM)
		if err != nil {
			// tls.X509KeyPair's messages describe, never quote, the key.
			return nil, fmt.Errorf("%w: PEM pair: %v", ErrCertificate, err)
		}
		cert = c
	case len(cfg.CertPEM) > 0 || len(cfg.KeyPEM) > 0:
		return nil, fmt.Errorf("%w: CertPEM and KeyPEM go together", ErrCertificate)
	default:
		return nil, fmt.Errorf("%w: missing: set PKCS12 (apiclient_cert.p12) or CertPEM+KeyPEM; every red packet API requires it", ErrCertificate)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
		}
		cert.Leaf = leaf
	}
	if now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("%w: expired on %s; download a new one in the merchant platform",
			ErrCertificate, cert.Leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(cert.Leaf.NotBefore) {
		return nil, fmt.Errorf("%w: not valid before %s", ErrCertificate, cert.Leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

func publicKeyMatches(certKey, privPub crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch k := certKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return k.(equaler).Equal(privPub)
	}
	return false
}
