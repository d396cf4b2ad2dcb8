package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// crypt seals resident ID numbers with AES-256-GCM and keys a blind index
// (HMAC-SHA-256) so an exact ID can be found without decrypting every row.
type crypt struct {
	aead     cipher.AEAD
	indexKey []byte
}

// MinSecretKeyLen is the shortest secret accepted.
const MinSecretKeyLen = 32

func newCrypt(secret []byte) (*crypt, error) {
	if len(secret) < MinSecretKeyLen {
		return nil, errors.New("the secret key must have at least 32 bytes")
	}
	encKey, err := hkdf.Key(sha256.New, secret, nil, "daiban id-number encryption", 32)
	if err != nil {
		return nil, err
	}
	indexKey, err := hkdf.Key(sha256.New, secret, nil, "daiban id-number index", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &crypt{aead: aead, indexKey: indexKey}, nil
}

// seal encrypts plain; the nonce leads the result.
func (c *crypt) seal(plain string) []byte {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return c.aead.Seal(nonce, nonce, []byte(plain), []byte("id_number"))
}

func (c *crypt) open(sealed []byte) (string, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed value too short")
	}
	plain, err := c.aead.Open(nil, sealed[:n], sealed[n:], []byte("id_number"))
	if err != nil {
		return "", errors.New("cannot decrypt an ID number: wrong DAIBAN_SECRET_KEY?")
	}
	return string(plain), nil
}

// index is the blind index of an ID number: 16 bytes of its keyed hash.
func (c *crypt) index(id string) []byte {
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte(id))
	return m.Sum(nil)[:16]
}

// fingerprint identifies the key without revealing it, so a database can
// refuse a key other than the one that sealed its rows.
func (c *crypt) fingerprint() string {
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte("daiban key fingerprint"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
