//! The browser checks of `burnish-web`, run natively on burn's wgpu device (lavapipe without a
//! GPU): the same code the page runs, so a failure here is found without a wasm build.
//!     cargo test --release -p burnish-web

#[test]
fn browser_checks_pass_natively() {
    let sel = match burnish::backend::wgpu_device() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let report = pollster::block_on(burnish_web::run_checks(&sel.device, serde_json::to_value(&sel.info).unwrap())).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(report["ok"], true, "{report}");
}
