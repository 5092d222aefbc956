package filewrap

import (
	"math"
	"net/http"
	"testing"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		spec    string
		size    int64
		want    httpRange
		wantErr error
	}{
		{"bytes=0-0", 10, httpRange{0, 1}, nil},
		{"bytes=0-", 10, httpRange{0, 10}, nil},
		{"bytes=2-5", 10, httpRange{2, 4}, nil},
		{"bytes=2-50", 10, httpRange{2, 8}, nil},
		{"bytes=9-9", 10, httpRange{9, 1}, nil},
		{"bytes=-3", 10, httpRange{7, 3}, nil},
		{"bytes=-30", 10, httpRange{0, 10}, nil},
		{"Bytes = 2 - 5 ", 10, httpRange{2, 4}, nil},
		{"bytes=0-99999999999999999999999", 10, httpRange{0, 10}, nil},
		{"bytes=-99999999999999999999999", 10, httpRange{0, 10}, nil},
		{"bytes=4294967296-4294967306", 5 << 30, httpRange{4 << 30, 11}, nil},
		{"bytes=10-", 10, httpRange{}, errUnsatisfiable},
		{"bytes=10-20", 10, httpRange{}, errUnsatisfiable},
		{"bytes=99999999999999999999999-", 10, httpRange{}, errUnsatisfiable},
		{"bytes=-0", 10, httpRange{}, errUnsatisfiable},
		{"bytes=5-2", 10, httpRange{}, errIgnoreRange},
		{"bytes=0-1,3-4", 10, httpRange{}, errIgnoreRange},
		{"bytes=", 10, httpRange{}, errIgnoreRange},
		{"bytes=-", 10, httpRange{}, errIgnoreRange},
		{"bytes=a-b", 10, httpRange{}, errIgnoreRange},
		{"bytes=+1-2", 10, httpRange{}, errIgnoreRange},
		{"bytes=1-2-3", 10, httpRange{}, errIgnoreRange},
		{"bytes 0-1", 10, httpRange{}, errIgnoreRange},
		{"items=0-1", 10, httpRange{}, errIgnoreRange},
		{"", 10, httpRange{}, errIgnoreRange},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := parseRange(tt.spec, tt.size)
			if err != tt.wantErr || got != tt.want {
				t.Errorf("parseRange(%q, %d) = %+v, %v; want %+v, %v", tt.spec, tt.size, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=1-2,3-4", "bytes= 1 - 2", "bytes=99999999999999999999-", "x=1-2", "bytes=-0"} {
		f.Add(s, int64(100))
	}
	f.Add("bytes=4294967296-", int64(5<<30))
	f.Fuzz(func(t *testing.T, spec string, size int64) {
		if size <= 0 {
			return
		}
		r, err := parseRange(spec, size)
		if err != nil {
			if err != errUnsatisfiable && err != errIgnoreRange {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if r.start < 0 || r.length < 1 || r.start > math.MaxInt64-r.length || r.start+r.length > size {
			t.Fatalf("parseRange(%q, %d) = %+v: outside the representation", spec, size, r)
		}
	})
}

func TestETagLists(t *testing.T) {
	tests := []struct {
		list, etag string
		strong, wk bool
	}{
		{`"a"`, `"a"`, true, true},
		{`"a", "b"`, `"b"`, true, true},
		{`"x,y", "b"`, `"x,y"`, true, true},
		{`W/"a"`, `"a"`, false, true},
		{`"a"`, `W/"a"`, false, true},
		{`*`, `"a"`, true, true},
		{`*`, ``, false, false},
		{`"a"`, ``, false, false},
		{`"b"`, `"a"`, false, false},
		{`a`, `"a"`, false, false},
		{`"a`, `"a"`, false, false},
		{`,,"a",`, `"a"`, true, true},
		{`"b" junk "a"`, `"a"`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.list+"~"+tt.etag, func(t *testing.T) {
			if got := etagListMatches(tt.list, tt.etag, strongMatch); got != tt.strong {
				t.Errorf("strong: %v, want %v", got, tt.strong)
			}
			if got := etagListMatches(tt.list, tt.etag, weakMatch); got != tt.wk {
				t.Errorf("weak: %v, want %v", got, tt.wk)
			}
		})
	}
}

func FuzzETagList(f *testing.F) {
	for _, s := range []string{`"a"`, `W/"a", "b"`, `*`, `"a`, `W/`, `"x,y" ,`, "\"\x80\""} {
		f.Add(s, `"a"`)
	}
	f.Fuzz(func(t *testing.T, list, etag string) {
		strong := etagListMatches(list, etag, strongMatch)
		weak := etagListMatches(list, etag, weakMatch)
		if strong && !weak {
			t.Fatalf("%q vs %q: strong match without weak match", list, etag)
		}
		tag, rest := scanETag(list)
		if tag != "" && tag+rest != list {
			t.Fatalf("scanETag(%q) = %q, %q", list, tag, rest)
		}
	})
}

func TestIfRange(t *testing.T) {
	const lm = "Mon, 06 May 2024 07:08:09 GMT"
	tests := []struct {
		name    string
		ifRange string
		etag    string
		lastMod string
		want    bool
	}{
		{"absent", "", "", "", true},
		{"etag-match", `"v1"`, `"v1"`, "", true},
		{"etag-differs", `"v1"`, `"v2"`, "", false},
		{"weak-never", `W/"v1"`, `W/"v1"`, "", false},
		{"etag-without-current", `"v1"`, "", lm, false},
		{"date-match", lm, "", lm, true},
		{"date-other-format", "Monday, 06-May-24 07:08:09 GMT", "", lm, true},
		{"date-differs", "Mon, 06 May 2024 07:08:10 GMT", "", lm, false},
		{"date-without-current", lm, `"v1"`, "", false},
		{"garbage", "yesterday", "", lm, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			if tt.ifRange != "" {
				r.Header.Set("If-Range", tt.ifRange)
			}
			h := http.Header{}
			if tt.etag != "" {
				h.Set("Etag", tt.etag)
			}
			if tt.lastMod != "" {
				h.Set("Last-Modified", tt.lastMod)
			}
			if got := ifRangeMatches(r, h); got != tt.want {
				t.Errorf("ifRangeMatches = %v, want %v", got, tt.want)
			}
		})
	}
}
