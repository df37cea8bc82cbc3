//! The WebAssembly entry point: takes over the server-rendered console in the browser.

/// Called by the generated JavaScript once the WebAssembly is loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
