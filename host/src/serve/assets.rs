//! The page's static files, embedded in the binary (`playground/web/`): no build step, no
//! framework, nothing to install for the browser.

/// One embedded file: its URL path, MIME type and contents.
pub struct Asset {
    pub path: &'static str,
    pub mime: &'static str,
    pub body: &'static str,
}

pub const ASSETS: [Asset; 4] = [
    Asset {
        path: "/",
        mime: "text/html; charset=utf-8",
        body: include_str!("../../../playground/web/index.html"),
    },
    Asset {
        path: "/style.css",
        mime: "text/css; charset=utf-8",
        body: include_str!("../../../playground/web/style.css"),
    },
    Asset {
        path: "/app.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("../../../playground/web/app.js"),
    },
    Asset {
        path: "/tinynet.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("../../../playground/web/tinynet.js"),
    },
];

/// The embedded file at `path` (`/index.html` is `/`).
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}
