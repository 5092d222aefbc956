package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/gowsgi/gowsgi/remoteip"
)

// remoteIPOptions are the flags of the layer that believes trusted reverse
// proxies (package remoteip, Apache's mod_remoteip).
type remoteIPOptions struct {
	trustedProxies listFlag
	header         string
	proxyProtocol  proxyProtocolFlag
}

// proxyProtocolFlag is -proxy-protocol: a boolean flag ("-proxy-protocol"
// alone is "true", required) that also takes "optional".
type proxyProtocolFlag remoteip.ProxyProtocol

func (p *proxyProtocolFlag) String() string {
	switch remoteip.ProxyProtocol(*p) {
	case remoteip.ProxyProtocolRequired:
		return "true"
	case remoteip.ProxyProtocolOptional:
		return "optional"
	}
	return "false"
}

func (p *proxyProtocolFlag) Set(v string) error {
	switch v {
	case "true", "1", "required":
		*p = proxyProtocolFlag(remoteip.ProxyProtocolRequired)
	case "false", "0", "off":
		*p = proxyProtocolFlag(remoteip.ProxyProtocolOff)
	case "optional":
		*p = proxyProtocolFlag(remoteip.ProxyProtocolOptional)
	default:
		return errors.New("want true, false or optional")
	}
	return nil
}

func (p *proxyProtocolFlag) IsBoolFlag() bool { return true }

func (o *remoteIPOptions) register(fs *flag.FlagSet) {
	fs.Var(&o.trustedProxies, "trusted-proxy", "`CIDR` (or address) of a reverse proxy whose forwarding header (see -remote-ip-header) and PROXY protocol header are believed: the client's address (REMOTE_ADDR, Require ip, logs: the right-most address not in a trusted range), wsgi.url_scheme/HTTPS and HTTP_HOST/SERVER_NAME; from other peers these headers are passed to the app unchanged and believed by nothing (repeatable; mod_remoteip's RemoteIPTrustedProxy)")
	fs.StringVar(&o.header, "remote-ip-header", "X-Forwarded-For", "`header` carrying the client chain from a -trusted-proxy: X-Forwarded-For (with X-Forwarded-Proto and X-Forwarded-Host) or Forwarded (RFC 7239, with its proto= and host=); only this one is believed (mod_remoteip's RemoteIPHeader)")
	fs.Var(&o.proxyProtocol, "proxy-protocol", "read HAProxy's PROXY protocol (v1 and v2: send-proxy, send-proxy-v2) on the listener from -trusted-proxy peers: the address it carries is the client's; a trusted peer without the header, or an untrusted one with it, is closed; =optional also accepts trusted peers without it (mod_remoteip's RemoteIPProxyProtocol)")
}

// build returns the remoteip layer, or nil when no proxy is trusted.
func (o *remoteIPOptions) build(logger *slog.Logger) (*remoteip.RemoteIP, error) {
	if len(o.trustedProxies) == 0 {
		if remoteip.ProxyProtocol(o.proxyProtocol) != remoteip.ProxyProtocolOff {
			return nil, errors.New("-proxy-protocol: no -trusted-proxy: the PROXY protocol is accepted only from trusted proxies")
		}
		if o.header != "X-Forwarded-For" {
			return nil, fmt.Errorf("-remote-ip-header %q: no -trusted-proxy: the header is believed only from trusted proxies", o.header)
		}
		return nil, nil
	}
	cfg := remoteip.Config{
		Header:        o.header,
		ProxyProtocol: remoteip.ProxyProtocol(o.proxyProtocol),
		Logger:        logger,
	}
	for _, p := range o.trustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("-trusted-proxy %q: %w", p, err)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx)
	}
	ri, err := remoteip.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("-trusted-proxy, -remote-ip-header, -proxy-protocol: %w", err)
	}
	return ri, nil
}
