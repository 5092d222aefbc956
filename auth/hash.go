package auth

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	goauth "github.com/abbot/go-http-auth"
	"golang.org/x/crypto/bcrypt"
)

// hashKind is a password hash format Apache's htpasswd writes.
type hashKind int

const (
	hashBcrypt hashKind = iota + 1 // $2y$ (htpasswd -B); also $2a$, $2b$
	hashAPR1                       // $apr1$ (the default) and $1$ (glibc MD5 crypt)
	hashSHA1                       // {SHA} (htpasswd -s)
	hashSHA256                     // $5$ (htpasswd -2)
	hashSHA512                     // $6$ (htpasswd -5)
	hashDES                        // 13-character crypt(3) (htpasswd -d)
)

func (k hashKind) String() string {
	switch k {
	case hashBcrypt:
		return "bcrypt"
	case hashAPR1:
		return "md5-crypt"
	case hashSHA1:
		return "sha1"
	case hashSHA256:
		return "sha256-crypt"
	case hashSHA512:
		return "sha512-crypt"
	case hashDES:
		return "des-crypt"
	}
	return "unknown"
}

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func isItoa64(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(itoa64, s[i]) < 0 {
			return false
		}
	}
	return true
}

var errUnsupportedHash = errors.New("unsupported password hash (htpasswd -p plain text is not accepted)")

// classifyHash returns the kind of an htpasswd hash, or an error when gowsgi
// cannot verify it. It checks the shape of the hash, so that verification
// never meets a malformed one.
func classifyHash(h string) (hashKind, error) {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"), strings.HasPrefix(h, "$2x$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return 0, fmt.Errorf("malformed bcrypt hash: %w", err)
		}
		return hashBcrypt, nil
	case strings.HasPrefix(h, "$apr1$"), strings.HasPrefix(h, "$1$"):
		parts := strings.Split(h, "$")
		if len(parts) != 4 || len(parts[2]) > 8 || len(parts[3]) != 22 || !isItoa64(parts[2]) || !isItoa64(parts[3]) {
			return 0, errors.New("malformed MD5 crypt hash")
		}
		return hashAPR1, nil
	case strings.HasPrefix(h, "{SHA}"):
		if len(h) != 5+28 {
			return 0, errors.New("malformed {SHA} hash")
		}
		return hashSHA1, nil
	case strings.HasPrefix(h, "$5$"), strings.HasPrefix(h, "$6$"):
		rounds, _, _, err := parseSHACrypt(h)
		if err != nil {
			return 0, err
		}
		if rounds > shaCryptMaxVerifyRounds {
			return 0, fmt.Errorf("SHA crypt rounds %d above the limit %d", rounds, shaCryptMaxVerifyRounds)
		}
		if h[1] == '5' {
			return hashSHA256, nil
		}
		return hashSHA512, nil
	case len(h) == 13 && isItoa64(h):
		return hashDES, nil
	}
	return 0, errUnsupportedHash
}

// hashCost estimates what verifying h, of kind k, costs, in microseconds on
// a current x86 core. Only the order matters: it picks the dummy hash an
// unknown user is checked against, the costliest of the file. Within a
// kind the parameter decides exactly (bcrypt's cost, SHA-crypt's rounds);
// across kinds the estimates are rough but far apart, except where a large
// SHA-crypt rounds count meets a small bcrypt cost, which is what the
// estimates are for.
func hashCost(k hashKind, h string) float64 {
	switch k {
	case hashBcrypt:
		cost, err := bcrypt.Cost([]byte(h))
		if err != nil {
			return 0
		}
		return 60 * float64(uint64(1)<<cost) // cost 10: about 60 ms
	case hashSHA256, hashSHA512:
		rounds, _, _, err := parseSHACrypt(h)
		if err != nil {
			return 0
		}
		return float64(rounds) // rounds=5000 (the default): about 5 ms
	case hashAPR1:
		return 200 // 1000 MD5 rounds
	case hashDES:
		return 20
	case hashSHA1:
		return 1
	}
	return 0
}

// verifyHash reports whether password matches h, of kind k (from
// [classifyHash]). Comparisons are constant-time.
func verifyHash(k hashKind, h, password string) bool {
	switch k {
	case hashBcrypt, hashAPR1, hashSHA1:
		// go-http-auth's checkers: bcrypt from x/crypto, MD5 crypt and
		// {SHA} with constant-time comparisons. Safe here because
		// classifyHash has checked the shape.
		return goauth.CheckSecret(password, h)
	case hashSHA256, hashSHA512:
		got, err := shaCrypt(password, h)
		return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(h)) == 1
	case hashDES:
		got := desCrypt(password, h[:2])
		return subtle.ConstantTimeCompare([]byte(got), []byte(h)) == 1
	}
	return false
}

// SHA-crypt ($5$, $6$), after Ulrich Drepper's specification.

const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	shaCryptMaxSalt       = 16
)

// parseSHACrypt splits a "$5$[rounds=N$]salt[$hash]" string.
func parseSHACrypt(s string) (rounds int, explicit bool, salt string, err error) {
	if len(s) < 3 || s[0] != '$' || (s[1] != '5' && s[1] != '6') || s[2] != '$' {
		return 0, false, "", errors.New("malformed SHA crypt hash")
	}
	rest := s[3:]
	rounds = shaCryptDefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		if !found {
			return 0, false, "", errors.New("malformed SHA crypt rounds")
		}
		n, perr := strconv.ParseUint(num, 10, 32)
		if perr != nil {
			return 0, false, "", fmt.Errorf("malformed SHA crypt rounds: %w", perr)
		}
		rounds = int(min(max(n, shaCryptMinRounds), shaCryptMaxRounds))
		explicit = true
		rest = after
	}
	salt, hashPart, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptMaxSalt {
		salt = salt[:shaCryptMaxSalt]
	}
	want := 43
	if s[1] == '6' {
		want = 86
	}
	if hashPart != "" && (len(hashPart) != want || !isItoa64(hashPart)) {
		return 0, false, "", errors.New("malformed SHA crypt hash")
	}
	return rounds, explicit, salt, nil
}

// shaCryptMaxVerifyRounds bounds the work one verification may cost, so that
// a file with rounds=999999999 cannot stall the server (such a file is
// refused at load); htpasswd's default is 5000.
const shaCryptMaxVerifyRounds = 1_000_000

// shaCrypt computes the SHA-crypt string of password with the parameters
// (prefix, rounds, salt) of setting.
func shaCrypt(password, setting string) (string, error) {
	rounds, explicit, salt, err := parseSHACrypt(setting)
	if err != nil {
		return "", err
	}
	if rounds > shaCryptMaxVerifyRounds {
		return "", fmt.Errorf("SHA crypt rounds %d above the limit %d", rounds, shaCryptMaxVerifyRounds)
	}
	var newHash func() hash.Hash
	var order [][3]int
	var tail []int
	prefix := setting[:3]
	if setting[1] == '5' {
		newHash = sha256.New
		order, tail = shaOrder(32, 10, false), []int{-1, 31, 30}
	} else {
		newHash = sha512.New
		order, tail = shaOrder(64, 21, true), []int{-1, -1, 63}
	}
	p, s := []byte(password), []byte(salt)

	h := newHash()
	h.Write(p)
	h.Write(s)
	h.Write(p)
	b := h.Sum(nil)
	size := len(b)

	h.Reset()
	h.Write(p)
	h.Write(s)
	for n := len(p); n > 0; n -= size {
		h.Write(b[:min(n, size)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)

	h.Reset()
	for range len(p) {
		h.Write(p)
	}
	dp := h.Sum(nil)
	pp := make([]byte, 0, len(p))
	for n := len(p); n > 0; n -= size {
		pp = append(pp, dp[:min(n, size)]...)
	}

	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	ds := h.Sum(nil)
	ss := make([]byte, 0, len(s))
	for n := len(s); n > 0; n -= size {
		ss = append(ss, ds[:min(n, size)]...)
	}

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(pp)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(ss)
		}
		if i%7 != 0 {
			h.Write(pp)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pp)
		}
		c = h.Sum(c[:0])
	}

	var out strings.Builder
	out.WriteString(prefix)
	if explicit {
		fmt.Fprintf(&out, "rounds=%d$", rounds)
	}
	out.WriteString(salt)
	out.WriteByte('$')
	for _, g := range order {
		b64From24(&out, c[g[0]], c[g[1]], c[g[2]], 4)
	}
	var t [3]byte
	nt := 0
	for i, idx := range tail {
		if idx >= 0 {
			t[i] = c[idx]
			nt++
		}
	}
	b64From24(&out, t[0], t[1], t[2], nt+1)
	return out.String(), nil
}

// shaOrder returns the byte triples SHA-crypt encodes: group k takes bytes
// k, k+step, k+2*step, rotated by k mod 3 (in opposite directions for the
// two variants).
func shaOrder(size, step int, left bool) [][3]int {
	var out [][3]int
	for k := 0; k < step; k++ {
		x := [3]int{k, k + step, k + 2*step}
		r := k % 3
		var g [3]int
		for i := range 3 {
			if left {
				g[i] = x[(i+r)%3]
			} else {
				g[i] = x[(i-r+3)%3]
			}
		}
		out = append(out, g)
	}
	_ = size
	return out
}

func b64From24(sb *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		sb.WriteByte(itoa64[w&0x3f])
		w >>= 6
	}
}
