package auth

// Traditional crypt(3) (htpasswd -d): DES with a salt-perturbed expansion,
// the first eight characters of the password as the key, 25 encryptions of a
// zero block. Written bit by bit from FIPS 46-3 for clarity, not speed: it
// verifies a legacy format, and bcrypt costs far more anyway.

var desIP = [64]uint8{
	58, 50, 42, 34, 26, 18, 10, 2,
	60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6,
	64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1,
	59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5,
	63, 55, 47, 39, 31, 23, 15, 7,
}

var desP = [32]uint8{
	16, 7, 20, 21, 29, 12, 28, 17,
	1, 15, 23, 26, 5, 18, 31, 10,
	2, 8, 24, 14, 32, 27, 3, 9,
	19, 13, 30, 6, 22, 11, 4, 25,
}

var desPC1 = [56]uint8{
	57, 49, 41, 33, 25, 17, 9,
	1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27,
	19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15,
	7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29,
	21, 13, 5, 28, 20, 12, 4,
}

var desPC2 = [48]uint8{
	14, 17, 11, 24, 1, 5,
	3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8,
	16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55,
	30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53,
	46, 42, 50, 36, 29, 32,
}

var desShifts = [16]uint8{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

var desS = [8][64]uint8{
	{
		14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
		0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
		4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
		15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
	},
	{
		15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
		3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
		0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
		13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
	},
	{
		10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
		13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
		13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
		1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
	},
	{
		7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
		13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
		10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
		3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
	},
	{
		2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
		14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
		4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
		11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
	},
	{
		12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
		10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
		9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
		4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
	},
	{
		4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
		13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
		1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
		6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
	},
	{
		13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
		1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
		7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
		2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
	},
}

// bit returns bit n (1-based, from the most significant) of a w-bit value.
func bit(v uint64, n, w uint8) uint64 { return (v >> (w - n)) & 1 }

// desSubkeys derives the 16 48-bit round keys of a 64-bit key.
func desSubkeys(key uint64) [16]uint64 {
	var cd uint64
	for _, n := range desPC1 {
		cd = cd<<1 | bit(key, n, 64)
	}
	c, d := cd>>28, cd&0xfffffff
	var ks [16]uint64
	for i, s := range desShifts {
		c = (c<<s | c>>(28-s)) & 0xfffffff
		d = (d<<s | d>>(28-s)) & 0xfffffff
		cd = c<<28 | d
		var k uint64
		for _, n := range desPC2 {
			k = k<<1 | bit(cd, n, 56)
		}
		ks[i] = k
	}
	return ks
}

// desEncrypt encrypts block with the round keys; bit i (0-based from the
// left) of saltMask swaps expansion outputs i and i+24, as crypt(3) does.
func desEncrypt(block uint64, ks *[16]uint64, saltMask uint32) uint64 {
	var ip uint64
	for _, n := range desIP {
		ip = ip<<1 | bit(block, n, 64)
	}
	l, r := uint32(ip>>32), uint32(ip)
	for round := range 16 {
		// Expansion: six-bit group j takes bits 4j..4j+5 of r (1-based,
		// wrapping), which is E of FIPS 46-3.
		var e uint64
		for j := range 8 {
			for k := range 6 {
				n := (4*j+k-1+32)%32 + 1
				e = e<<1 | uint64(r>>(32-n))&1
			}
		}
		for i := range 12 {
			if saltMask>>i&1 != 0 {
				a, b := uint(47-i), uint(47-(i+24))
				ba, bb := e>>a&1, e>>b&1
				if ba != bb {
					e ^= 1<<a | 1<<b
				}
			}
		}
		e ^= ks[round]
		var sOut uint32
		for j := range 8 {
			six := uint8(e >> (42 - 6*j) & 0x3f)
			row := six>>4&2 | six&1
			col := six >> 1 & 0xf
			sOut = sOut<<4 | uint32(desS[j][row*16+col])
		}
		var f uint32
		for _, n := range desP {
			f = f<<1 | sOut>>(32-n)&1
		}
		l, r = r, l^f
	}
	pre := uint64(r)<<32 | uint64(l)
	// Final permutation: the inverse of IP.
	var out uint64
	for i, n := range desIP {
		out |= bit(pre, uint8(i+1), 64) << (64 - n)
	}
	return out
}

// desCrypt returns crypt(3)'s traditional DES hash of password with the
// two-character salt.
func desCrypt(password, salt string) string {
	var key uint64
	ended := false
	for i := range 8 {
		var c byte
		if !ended && i < len(password) {
			c = password[i]
		}
		ended = ended || c == 0
		key = key<<8 | uint64(c<<1)
	}
	if len(salt) < 2 {
		salt += ".."[len(salt):]
	}
	var mask uint32
	for i := range 2 {
		v := 0
		if i < len(salt) {
			if p := indexItoa64(salt[i]); p >= 0 {
				v = p
			}
		}
		mask |= uint32(v) << (6 * i)
	}
	ks := desSubkeys(key)
	var block uint64
	for range 25 {
		block = desEncrypt(block, &ks, mask)
	}
	out := make([]byte, 0, 13)
	out = append(out, salt[:2]...)
	// 64 bits and two zero bits, six at a time from the most significant.
	for i := range 11 {
		shift := 58 - 6*i
		var v uint64
		if shift >= 0 {
			v = block >> uint(shift) & 0x3f
		} else {
			v = block << uint(-shift) & 0x3f
		}
		out = append(out, itoa64[v])
	}
	return string(out)
}

func indexItoa64(c byte) int {
	for i := 0; i < len(itoa64); i++ {
		if itoa64[i] == c {
			return i
		}
	}
	return -1
}
