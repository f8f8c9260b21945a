// Command dockerfile-lint runs BuildKit's Dockerfile checks, the ones
// `docker build --check` runs, without a Docker daemon or a registry.
//
// Usage: dockerfile-lint [--build-arg NAME=VALUE]... Dockerfile
//
// It prints each finding as `docker build --check` does and exits 1 when
// there is any, 2 when the Dockerfile cannot be read or linted. Base images
// are not fetched: every FROM resolves to an empty image config of the target
// platform, so checks that need a base image's ENV see none.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// buildArgs collects repeated --build-arg NAME=VALUE flags.
type buildArgs map[string]string

func (b buildArgs) String() string { return fmt.Sprint(map[string]string(b)) }

func (b buildArgs) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	b[name] = value
	return nil
}

// offlineResolver answers every base image lookup with an empty image config
// of the requested platform, so linting needs no registry.
type offlineResolver struct{}

// ResolveImageConfig implements sourceresolver.ImageMetaResolver.
func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	p := platforms.DefaultSpec()
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	cfg, err := json.Marshal(ocispecs.Image{Platform: p})
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromBytes(cfg), cfg, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dockerfile-lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ba := buildArgs{}
	fs.Var(ba, "build-arg", "build argument NAME=VALUE (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: dockerfile-lint [--build-arg NAME=VALUE]... Dockerfile")
		return 2
	}
	path := fs.Arg(0)
	dt, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "dockerfile-lint: reading the Dockerfile failed: %v\n", err)
		return 2
	}
	// The source map carries the file's text so findings can quote their lines.
	sourceMap := llb.NewSourceMap(nil, path, "Dockerfile", dt)
	sourceMap.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{BuildArgs: ba},
		SourceMap:    sourceMap,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		fmt.Fprintf(stderr, "dockerfile-lint: linting %s failed: %v\n", path, err)
		return 2
	}
	if err := res.PrintTo(stdout, nil); err != nil {
		fmt.Fprintf(stderr, "dockerfile-lint: printing the findings failed: %v\n", err)
		return 2
	}
	if res.Error != nil {
		fmt.Fprintf(stdout, "\nERROR: %s\n", res.Error.Message)
		return 1
	}
	if len(res.Warnings) > 0 {
		return 1
	}
	return 0
}
