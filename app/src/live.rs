//! Live updates. The server sends a `change` event on `/api/events` whenever the store
//! changes (a job's batch, an action, a new error); lists that read [`use_live`] fetch
//! again, keeping what the user selected and where they scrolled.

use leptos::prelude::*;

#[derive(Clone, Copy)]
struct Live(ReadSignal<u64>);

/// Opens the event stream once the page runs in the browser; before that (and without
/// JavaScript) pages are as fresh as their last load.
pub fn provide_live() {
    let (changes, set_changes) = signal(0u64);
    provide_context(Live(changes));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let Ok(source) = web_sys::EventSource::new("/api/events") else {
            return;
        };
        let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            set_changes.update(|n| *n += 1);
        });
        let _ =
            source.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        // Both live as long as the page.
        on_change.forget();
        std::mem::forget(source);
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_changes;
}

/// A count of the changes seen since the page loaded: read it in a resource's source to
/// fetch again on every change.
pub fn use_live() -> ReadSignal<u64> {
    use_context::<Live>().map_or_else(|| signal(0).0, |live| live.0)
}
