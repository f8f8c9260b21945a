package main

import (
	"os/exec"
	"strings"
	"testing"
)

// heavyImports are module paths the exporter binary must not depend on:
// cloud SDKs, gRPC and Kubernetes clients come in through Prometheus'
// server packages (tsdb, config, discovery) and have no use in an exporter.
var heavyImports = []string{
	"github.com/aws/aws-sdk-go",
	"github.com/Azure/azure-sdk-for-go",
	"cloud.google.com/",
	"google.golang.org/api",
	"google.golang.org/grpc",
	"k8s.io/",
}

// TestExporterImportsNoCloudSDK fails when the exporter binary's import
// graph (go list -deps, tests excluded) gains a cloud SDK, gRPC or a
// Kubernetes client; tests may import them.
func TestExporterImportsNoCloudSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 50 {
		t.Fatalf("go list -deps . listed only %d packages:\n%s", len(pkgs), out)
	}
	var heavy []string
	for _, p := range pkgs {
		for _, h := range heavyImports {
			if strings.HasPrefix(p, h) {
				heavy = append(heavy, p)
			}
		}
	}
	if len(heavy) > 0 {
		t.Errorf("the exporter binary imports %d packages of cloud SDKs, gRPC or Kubernetes clients; import Prometheus' leaf packages (tsdb/index, tsdb/chunks, model/labels), not its server packages:\n%s",
			len(heavy), strings.Join(heavy, "\n"))
	}
}
