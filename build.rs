//! Compiles every `bpf/*.bpf.c` with `clang -O2 -g -target bpf` into `OUT_DIR`.
//! `BPF_CLANG` picks the compiler; `BPF_OBJ_DIR` uses prebuilt objects instead (hosts without
//! clang): it must hold `<name>.bpf.o` for every source.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=bpf");
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    println!("cargo:rerun-if-env-changed=BPF_OBJ_DIR");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut sources: Vec<PathBuf> = std::fs::read_dir("bpf")
        .expect("bpf/ directory is missing")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    for src in sources {
        let name = src
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".bpf.c", ".bpf.o");
        let obj = out.join(&name);
        if let Ok(dir) = env::var("BPF_OBJ_DIR") {
            let pre = Path::new(&dir).join(&name);
            std::fs::copy(&pre, &obj).unwrap_or_else(|e| {
                panic!(
                    "BPF_OBJ_DIR is set but {} cannot be copied: {e}",
                    pre.display()
                )
            });
            continue;
        }
        compile(&src, &obj);
    }
}

fn compile(src: &Path, obj: &Path) {
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang".into());
    let arch_inc = format!(
        "-I/usr/include/{}-linux-gnu",
        env::var("CARGO_CFG_TARGET_ARCH").unwrap()
    );
    let result = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        .arg(arch_inc)
        .arg("-Ibpf")
        .arg("-c")
        .arg(src)
        .arg("-o")
        .arg(obj)
        .output();
    match result {
        Err(e) => panic!(
            "\n\nthreeway needs clang to build its XDP program ({}): {e}\n\
             Install it: apt-get install -y clang libbpf-dev linux-libc-dev\n\
             (or set BPF_CLANG to a clang binary, or BPF_OBJ_DIR to prebuilt objects)\n",
            src.display()
        ),
        Ok(o) if !o.status.success() => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let hint = if stderr.contains("bpf_helpers.h") || stderr.contains("asm/types.h") {
                "BPF headers are missing: apt-get install -y libbpf-dev linux-libc-dev"
            } else {
                "fix the BPF source above"
            };
            panic!(
                "\n\nclang -target bpf failed on {}:\n{stderr}\n{hint}\n",
                src.display()
            );
        }
        Ok(_) => {}
    }
}
