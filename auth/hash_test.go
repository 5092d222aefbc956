package auth

import (
	"crypto/des"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gowsgi/gowsgi/internal/testenv"
)

// TestHashFormatsFromHtpasswd verifies passwords against hashes written by
// Debian's htpasswd in every format it offers.
func TestHashFormatsFromHtpasswd(t *testing.T) {
	const pw = `s3cret pässword:"x"`
	tests := []struct {
		name  string
		flags []string
		kind  hashKind
		pw    string
	}{
		{"bcrypt-cost4", []string{"-B", "-C", "4"}, hashBcrypt, pw},
		{"bcrypt-cost5-default", []string{"-B"}, hashBcrypt, pw},
		{"bcrypt-cost7", []string{"-B", "-C", "7"}, hashBcrypt, pw},
		{"apr1-default", nil, hashAPR1, pw},
		{"sha1", []string{"-s"}, hashSHA1, pw},
		{"crypt", []string{"-d"}, hashDES, "8chars!!"},
		{"sha256", []string{"-2"}, hashSHA256, pw},
		{"sha256-rounds", []string{"-2", "-r", "12345"}, hashSHA256, pw},
		{"sha512", []string{"-5"}, hashSHA512, pw},
		{"sha512-rounds", []string{"-5", "-r", "1000"}, hashSHA512, pw},
		{"sha512-empty-password", []string{"-5"}, hashSHA512, ""},
		{"sha256-long-password", []string{"-2"}, hashSHA256, strings.Repeat("long password ", 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := testenv.HtpasswdLine(t, "alice", tt.pw, tt.flags...)
			_, hash, _ := strings.Cut(line, ":")
			kind, err := classifyHash(hash)
			if err != nil {
				t.Fatalf("classifyHash(%q): %v", hash, err)
			}
			if kind != tt.kind {
				t.Fatalf("classifyHash(%q) = %v, want %v", hash, kind, tt.kind)
			}
			if !verifyHash(kind, hash, tt.pw) {
				t.Errorf("right password refused for %q", hash)
			}
			wrongs := []string{"", "x", tt.pw + "x", strings.ToUpper(tt.pw)}
			if kind == hashBcrypt {
				wrongs = wrongs[2:3] // each bcrypt check is slow under -race
			}
			for _, wrong := range wrongs {
				if wrong == tt.pw || (kind == hashDES && len(wrong) > 8 && wrong[:8] == tt.pw[:8]) {
					continue
				}
				if verifyHash(kind, hash, wrong) {
					t.Errorf("wrong password %q accepted for %q", wrong, hash)
				}
			}
		})
	}
}

// TestDESCryptTruncates checks crypt(3)'s documented behaviour that only
// the first eight characters count, with a hash from htpasswd -d.
func TestDESCryptTruncates(t *testing.T) {
	line := testenv.HtpasswdLine(t, "u", "password123", "-d")
	_, hash, _ := strings.Cut(line, ":")
	for _, pw := range []string{"password123", "password", "passwordXYZ"} {
		if !verifyHash(hashDES, hash, pw) {
			t.Errorf("%q refused for %q", pw, hash)
		}
	}
	if verifyHash(hashDES, hash, "passwor") {
		t.Errorf("7-character prefix accepted")
	}
}

// TestDESBlockMatchesStdlib checks the bit-level DES (salt 0) against
// crypto/des, which would expose a wrong table.
func TestDESBlockMatchesStdlib(t *testing.T) {
	for i, key := range []uint64{0x133457799BBCDFF1, 0x0123456789abcdef, 0, ^uint64(0), 0xfedcba9876543210} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ks := desSubkeys(key)
			var kb, in, out [8]byte
			binary.BigEndian.PutUint64(kb[:], key)
			c, err := des.NewCipher(kb[:])
			if err != nil {
				t.Fatal(err)
			}
			for _, block := range []uint64{0, 0x0123456789ABCDEF, ^uint64(0)} {
				binary.BigEndian.PutUint64(in[:], block)
				c.Encrypt(out[:], in[:])
				if got, want := desEncrypt(block, &ks, 0), binary.BigEndian.Uint64(out[:]); got != want {
					t.Errorf("key %x block %x: got %x, want %x", key, block, got, want)
				}
			}
		})
	}
}

func TestClassifyHashRejects(t *testing.T) {
	tests := []struct{ name, hash string }{
		{"plain", "secret"},
		{"empty", ""},
		{"bcrypt-short", "$2y$10$abc"},
		{"apr1-no-salt", "$apr1$"},
		{"apr1-short", "$apr1$abc$def"},
		{"sha1-short", "{SHA}abc"},
		{"sha512-bad-hash", "$6$salt$tooshort"},
		{"sha256-bad-rounds", "$5$rounds=x$salt$" + strings.Repeat("a", 43)},
		{"des-bad-char", "ab!defghijklm"},
		{"quote", `"$apr1$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := classifyHash(tt.hash); err == nil {
				t.Errorf("classifyHash(%q) = %v, want an error", tt.hash, k)
			}
		})
	}
}

func TestSHACryptRoundsLimit(t *testing.T) {
	h := "$6$rounds=999999999$salt$" + strings.Repeat("a", 86)
	if _, err := classifyHash(h); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("classifyHash: %v, want the rounds limit", err)
	}
	if verifyHash(hashSHA512, h, "x") {
		t.Fatal("accepted")
	}
	if _, err := shaCrypt("x", h); err == nil {
		t.Fatal("shaCrypt above the rounds limit: no error")
	}
}

func TestSBoxRowsArePermutations(t *testing.T) {
	for i, s := range desS {
		for row := range 4 {
			r := slices.Clone(s[row*16 : row*16+16])
			slices.Sort(r)
			for j, v := range r {
				if int(v) != j {
					t.Fatalf("S%d row %d is not a permutation of 0..15", i+1, row)
				}
			}
		}
	}
}
