package uwsgi

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gowsgi/gowsgi/wsgi"
)

// maxVarsSize is the largest vars block, and the largest key or value, a
// uwsgi packet can carry: its sizes are 16-bit.
const maxVarsSize = 65535

// errVarsTooLarge reports a request whose variables do not fit in one
// uwsgi packet.
var errVarsTooLarge = errors.New("uwsgi: request variables over the protocol's 65535 bytes")

// appendPacket appends the uwsgi request packet for env to b: the 4-byte
// header (modifier1 0, the size of the vars block as a little-endian
// uint16, modifier2 0), then each variable as a little-endian uint16 size
// and the bytes of its key, then the same for its value. It fails, leaving
// b as it was, when a key or value or the whole block is over 65535 bytes.
func appendPacket(b []byte, env []wsgi.EnvVar) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	for _, kv := range env {
		if len(kv.Name) > maxVarsSize || len(kv.Value) > maxVarsSize {
			return b[:start], fmt.Errorf("%w: %s is %d bytes", errVarsTooLarge, truncate(kv.Name), len(kv.Name)+len(kv.Value))
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(kv.Name)))
		b = append(b, kv.Name...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(kv.Value)))
		b = append(b, kv.Value...)
		if len(b)-start-4 > maxVarsSize {
			return b[:start], fmt.Errorf("%w (at %s)", errVarsTooLarge, truncate(kv.Name))
		}
	}
	binary.LittleEndian.PutUint16(b[start+1:], uint16(len(b)-start-4))
	return b, nil
}

// truncate shortens a variable name for a log line.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
