// SPDX-License-Identifier: GPL-2.0

//! `#[export]`: a Rust function that C calls by name.
//!
//! A backport of the attribute mainline gained in Linux 6.15 (commit
//! 44e333fe464a, "rust: add #[export] macro"); see [`crate::export`] for
//! what it checks.

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// The name of the function an item declares: the identifier after the
/// `fn` keyword, past attributes, visibility and qualifiers (`pub(crate)
/// unsafe extern "C" fn name`).  `None` if the item is not a function.
fn function_name(item: TokenStream) -> Option<proc_macro::Ident> {
    let mut tokens = item.into_iter();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Ident(ident) if ident.to_string() == "fn" => {
                return match tokens.next() {
                    Some(TokenTree::Ident(name)) => Some(name),
                    _ => None,
                };
            }
            // A body or a struct's fields: no `fn` keyword before it.
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => return None,
            _ => {}
        }
    }
    None
}

/// See [`crate::export`].
pub(crate) fn export(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let Some(name) = function_name(item.clone()) else {
        return "::core::compile_error!(\"#[export] applies to functions only\");"
            .parse()
            .expect("a valid token stream");
    };
    // Both arms of an `if` have one type: the build fails unless the
    // function's type is that of the declaration bindgen made from the C
    // header.
    let check = format!(
        "const _: () = {{ let _ = if true {{ ::kernel::bindings::{name} }} else {{ {name} }}; }};"
    );
    let mut out: TokenStream = check.parse().expect("a valid token stream");
    out.extend(
        "#[no_mangle]"
            .parse::<TokenStream>()
            .expect("a valid token stream"),
    );
    out.extend(item);
    out
}
