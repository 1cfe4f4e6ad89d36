package redpack

import (
	"net/netip"
	"testing"
)

// ipv4Reference is the obvious definition isDottedIPv4 must agree with:
// net/netip parses it as IPv4 and prints it back unchanged.
func ipv4Reference(v string) bool {
	a, err := netip.ParseAddr(v)
	return err == nil && a.Is4() && a.String() == v
}

func TestIsDottedIPv4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"127.0.0.1", true},
		{"0.0.0.0", true},
		{"255.255.255.255", true},
		{"10.1.20.200", true},
		{"256.1.1.1", false},
		{"01.2.3.4", false},
		{"1.2.3", false},
		{"1.2.3.4.5", false},
		{"1.2.3.", false},
		{".1.2.3", false},
		{" 1.2.3.4", false},
		{"1.2.3.4 ", false},
		{"::1", false},
		{"::ffff:1.2.3.4", false},
		{"1.2.3.4%eth0", false},
		{"1111.2.3.4", false},
		{"", false},
		{"a.b.c.d", false},
	} {
		if got := isDottedIPv4(tc.in); got != tc.want {
			t.Errorf("isDottedIPv4(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if ref := ipv4Reference(tc.in); ref != tc.want {
			t.Errorf("reference(%q) = %v, want %v (table is wrong)", tc.in, ref, tc.want)
		}
	}
}

// FuzzIsDottedIPv4 holds the allocation-free IPv4 check to net/netip.
func FuzzIsDottedIPv4(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "255.255.255.255", "01.2.3.4", "1.2.3", "::1", "1.2.3.4.5", "300.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDottedIPv4(s), ipv4Reference(s); got != want {
			t.Errorf("isDottedIPv4(%q) = %v, net/netip says %v", s, got, want)
		}
	})
}
