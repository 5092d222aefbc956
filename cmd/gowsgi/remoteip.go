package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/gowsgi/gowsgi/remoteip"
)

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

// buildRemoteIP returns the layer that believes the trusted reverse
// proxies (package remoteip), or nil when cfg trusts none. Its Wrap goes
// outermost in the handler chain ([buildHandler]), its Listener under the
// framing guard's ([serve]).
func buildRemoteIP(cfg remoteIPConfig, logger *slog.Logger) (*remoteip.RemoteIP, error) {
	if len(cfg.TrustedProxies) == 0 {
		if cfg.ProxyProtocol != remoteip.ProxyProtocolOff {
			return nil, errors.New("-proxy-protocol: no -trusted-proxy: the PROXY protocol is accepted only from trusted proxies")
		}
		if cfg.Header != "" && cfg.Header != "X-Forwarded-For" {
			return nil, fmt.Errorf("-remote-ip-header %q: no -trusted-proxy: the header is believed only from trusted proxies", cfg.Header)
		}
		return nil, nil
	}
	rc := remoteip.Config{
		Header:        cfg.Header,
		ProxyProtocol: cfg.ProxyProtocol,
		Logger:        logger,
	}
	for _, p := range cfg.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, fmt.Errorf("-trusted-proxy %q: %w", p, err)
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		rc.TrustedProxies = append(rc.TrustedProxies, pfx)
	}
	ri, err := remoteip.New(rc)
	if err != nil {
		return nil, fmt.Errorf("-trusted-proxy, -remote-ip-header, -proxy-protocol: %w", err)
	}
	return ri, nil
}
