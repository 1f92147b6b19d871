//! deploy/: the Containerfile builds what deploy/README.md documents, and the image it builds
//! is the one the Kubernetes manifests name.

fn read(path: &str) -> String {
    let p = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

#[test]
fn containerfile_steps_are_the_documented_ones() {
    let file = read("deploy/Containerfile");
    let readme = read("deploy/README.md");
    let steps: Vec<&str> = file
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();
    assert!(steps.len() >= 10, "{steps:?}");
    assert_eq!(
        steps.iter().filter(|l| l.starts_with("FROM ")).count(),
        2,
        "a multi-stage build"
    );
    // The README lists exactly these instructions, in this order, in one block.
    let block = readme
        .split("```")
        .find(|b| b.trim_start().starts_with("FROM "))
        .expect("deploy/README.md lists the Containerfile's steps");
    let documented: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(documented, steps);
    for cmd in [
        "podman build -f deploy/Containerfile -t registry.example.com/threeway:0.1.0 .",
        "podman push registry.example.com/threeway:0.1.0",
    ] {
        assert!(readme.contains(cmd), "README documents `{cmd}`");
    }
    // Every file the build copies from the context exists (a stale COPY breaks the build).
    for l in steps
        .iter()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = l.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            let p = format!("{}/{src}", env!("CARGO_MANIFEST_DIR"));
            assert!(std::path::Path::new(&p).exists(), "COPY source {src}");
        }
    }
    for pkg in ["ethtool", "iproute2"] {
        assert!(file.contains(pkg), "the image has {pkg}");
    }
    assert!(file.contains("/usr/local/bin/nic-setup"));
}

#[test]
fn the_manifests_name_the_image() {
    for m in [
        "deploy/k8s/generator-job.yaml",
        "deploy/k8s/serve-daemonset.yaml",
    ] {
        assert!(
            read(m).contains("image: registry.example.com/threeway:0.1.0"),
            "{m}"
        );
    }
    assert!(read("deploy/Containerfile").contains("registry.example.com/threeway:0.1.0"));
}
