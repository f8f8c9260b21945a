package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// TestComposePublishesOnLoopbackOnly: every port the demo stack publishes is
// bound to 127.0.0.1, so Grafana's admin/admin, Prometheus, Alertmanager
// and the exporter are not offered to the machine's network.
func TestComposePublishesOnLoopbackOnly(t *testing.T) {
	c := loadCompose(t)
	published := 0
	for name, s := range c.Services {
		for _, p := range s.Ports {
			published++
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q on every interface, want 127.0.0.1:...", name, p)
			}
		}
	}
	if published < 4 {
		t.Errorf("only %d published ports: the demo stack publishes Grafana, Prometheus, Alertmanager and the exporter", published)
	}
}

// TestHelmChartExposesNoSecretDerivative: nothing the chart renders outside
// its Secret (annotations readable with the view role included) holds the
// client secret or a SHA-256 of it, alone or with the client ID.
func TestHelmChartExposesNoSecretDerivative(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	const secret, id = "not-a-real-secret", "OQ0123456789abcdef0123456789abcdef"
	var banned []string
	for _, s := range []string{secret, id + "/" + secret, "/" + secret, secret + "\n"} {
		sum := sha256.Sum256([]byte(s))
		banned = append(banned, hex.EncodeToString(sum[:]))
	}
	for _, values := range []string{"ci/default-values.yaml", "ci/monitoring-values.yaml", "ci/hardened-values.yaml"} {
		docs, out, code := helmTemplate(t, helm, values)
		if code != 0 {
			t.Fatalf("%s: helm template: exit %d\n%s", values, code, out)
		}
		for key, doc := range docs {
			if strings.HasPrefix(key, "Secret/") {
				continue
			}
			text := fmt.Sprint(doc)
			for _, b := range append([]string{secret}, banned...) {
				if strings.Contains(text, b) {
					t.Errorf("%s: %s holds the secret or a hash of it (%s)", values, key, b)
				}
			}
			if ann := fmt.Sprint(dig(doc, "spec", "template", "metadata", "annotations")); strings.Contains(ann, "checksum/secret") {
				t.Errorf("%s: %s still carries checksum/secret: %s", values, key, ann)
			}
		}
	}
}

// TestHelmChartHardenedValues: networkPolicy and webConfig render a
// NetworkPolicy that admits scrapes from the listed peers on the metrics
// port and lets out only DNS and HTTPS, and a pod that serves TLS and basic
// auth from the web config Secret, with probes that need no password.
func TestHelmChartHardenedValues(t *testing.T) {
	helm := tool(t, "HELM", "helm")
	const fullname = "rel-twilio-billing-exporter"
	docs, out, code := helmTemplate(t, helm, "ci/hardened-values.yaml")
	if code != 0 {
		t.Fatalf("helm template: exit %d\n%s", code, out)
	}
	np := docs["NetworkPolicy/"+fullname]
	if np == nil {
		t.Fatalf("no NetworkPolicy rendered:\n%s", out)
	}
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"spec", "podSelector", "matchLabels", "app.kubernetes.io/instance"}, "rel"},
		{[]any{"spec", "policyTypes"}, "[Ingress Egress]"},
		{[]any{"spec", "ingress", 0, "ports", 0, "port"}, "http"},
		{[]any{"spec", "ingress", 0, "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"}, "monitoring"},
		{[]any{"spec", "egress", 0, "ports", 0, "port"}, 53},
		{[]any{"spec", "egress", 1, "ports", 0, "port"}, 443},
		{[]any{"spec", "egress", 1, "to", 0, "ipBlock", "cidr"}, "0.0.0.0/0"},
		{[]any{"spec", "egress", 2}, nil},
	} {
		if got := dig(np, c.path...); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("NetworkPolicy %v = %v, want %v", c.path, got, c.want)
		}
	}

	pod := dig(docs["Deployment/"+fullname], "spec", "template", "spec")
	ctr := dig(pod, "containers", 0)
	if args := fmt.Sprint(dig(ctr, "args")); !strings.Contains(args, "--web.config.file=/etc/twilio_billing_exporter/web/web-config.yml") {
		t.Errorf("args %s lack --web.config.file", args)
	}
	for _, c := range []struct {
		in   any
		path []any
		want any
	}{
		{ctr, []any{"volumeMounts", 2, "name"}, "web-config"},
		{ctr, []any{"volumeMounts", 2, "mountPath"}, "/etc/twilio_billing_exporter/web"},
		{pod, []any{"volumes", 2, "secret", "secretName"}, "twilio-exporter-web"},
		{pod, []any{"volumes", 1, "secret", "defaultMode"}, 288}, // 0440: the exporter warns about a world-readable secret
		{ctr, []any{"livenessProbe", "tcpSocket", "port"}, "http"},
		{ctr, []any{"livenessProbe", "httpGet"}, nil},
		{ctr, []any{"livenessProbe", "periodSeconds"}, 30},
		{ctr, []any{"readinessProbe", "tcpSocket", "port"}, "http"},
		{ctr, []any{"readinessProbe", "httpGet"}, nil},
	} {
		if got := dig(c.in, c.path...); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%v = %v, want %v", c.path, got, c.want)
		}
	}

	// Prometheus scrapes the TLS and basic-auth endpoint with the scheme,
	// CA and credentials the values give.
	ep := dig(docs["ServiceMonitor/"+fullname], "spec", "endpoints", 0)
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"scheme"}, "https"},
		{[]any{"tlsConfig", "ca", "secret", "name"}, "twilio-exporter-web"},
		{[]any{"tlsConfig", "serverName"}, "twilio-billing-exporter"},
		{[]any{"basicAuth", "password", "name"}, "twilio-exporter-scrape"},
		{[]any{"basicAuth", "password", "key"}, "password"},
		{[]any{"relabelings", 0, "replacement"}, "twilio_billing"},
	} {
		if got := dig(ep, c.path...); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("ServiceMonitor endpoint %v = %v, want %v", c.path, got, c.want)
		}
	}
}
