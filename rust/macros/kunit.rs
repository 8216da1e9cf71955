// SPDX-License-Identifier: GPL-2.0

//! `#[kunit_tests(suite)]`: a module's `#[test]` functions as a KUnit suite.
//!
//! A backport of the attribute mainline gained in Linux 6.15 (commit
//! c0010452893e, "rust: macros: add macro to easily run KUnit tests"); see
//! [`crate::kunit_tests`] for what it generates.

use proc_macro::{Delimiter, Group, Ident, TokenStream, TokenTree};
use std::fmt::Write;

/// A compile error at the attribute, as tokens.
fn error(message: &str) -> TokenStream {
    format!("::core::compile_error!({message:?});")
        .parse()
        .expect("a valid token stream")
}

/// Whether `group` is the `[test]` of a `#[test]` attribute.
fn is_test_attribute(group: &Group) -> bool {
    group.delimiter() == Delimiter::Bracket && group.stream().to_string() == "test"
}

/// Whether `group` is the `[cfg(...)]` of a `#[cfg(...)]` attribute.
fn is_cfg_attribute(group: &Group) -> bool {
    group.delimiter() == Delimiter::Bracket
        && matches!(group.stream().into_iter().next(),
                    Some(TokenTree::Ident(ident)) if ident.to_string() == "cfg")
}

/// A test function: its name and the `#[cfg(...)]` attributes it had.
struct Test {
    name: Ident,
    cfg: TokenStream,
}

/// The body of the module without its `#[test]` attributes, and its tests
/// in order.  Only the module's own items are looked at, not nested ones.
fn split_tests(body: TokenStream) -> (TokenStream, Vec<Test>) {
    let mut out = Vec::new();
    let mut tests = Vec::new();
    // Attributes seen since the last item ended: whether `#[test]` was one,
    // and the `#[cfg(...)]` ones, which the test's wrapper must carry too.
    let mut test = false;
    let mut cfg = TokenStream::new();
    let mut tokens = body.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                if let Some(TokenTree::Group(g)) = tokens.peek() {
                    if is_test_attribute(g) {
                        test = true;
                        tokens.next();
                        continue;
                    }
                    if is_cfg_attribute(g) {
                        cfg.extend([token.clone(), TokenTree::Group(g.clone())]);
                    }
                }
            }
            TokenTree::Ident(ident) if ident.to_string() == "fn" => {
                if let (true, Some(TokenTree::Ident(name))) = (test, tokens.peek()) {
                    tests.push(Test {
                        name: name.clone(),
                        cfg: core::mem::take(&mut cfg),
                    });
                }
                test = false;
            }
            // The end of an item: its body, or a `;`.
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                test = false;
                cfg = TokenStream::new();
            }
            TokenTree::Punct(p) if p.as_char() == ';' => {
                test = false;
                cfg = TokenStream::new();
            }
            _ => {}
        }
        out.push(token);
    }
    (out.into_iter().collect(), tests)
}

/// See [`crate::kunit_tests`].
pub(crate) fn kunit_tests(attr: TokenStream, item: TokenStream) -> TokenStream {
    let suite = attr.to_string();
    if suite.is_empty() || !suite.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return error("#[kunit_tests(name)] needs the suite's name, an identifier");
    }
    if suite.len() > 255 {
        return error("a KUnit suite's name has at most 255 bytes");
    }
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let is_module = tokens
        .iter()
        .any(|t| matches!(t, TokenTree::Ident(ident) if ident.to_string() == "mod"));
    let body = match tokens.pop() {
        Some(TokenTree::Group(g)) if is_module && g.delimiter() == Delimiter::Brace => g,
        _ => return error("#[kunit_tests(name)] applies to an inline module (`mod m { ... }`)"),
    };
    let (body, tests) = split_tests(body.stream());

    // assert!() and assert_eq!() report to KUnit, with the caller's file
    // and line, and end the case instead of panicking.
    let mut head = format!(
        r#"
        #[allow(unused_macros)]
        macro_rules! assert {{
            ($cond:expr $(,)?) => {{{{
                ::kernel::kunit_assert!("{suite}", ::core::file!(), 0, $cond);
            }}}};
        }}
        #[allow(unused_macros)]
        macro_rules! assert_eq {{
            ($left:expr, $right:expr $(,)?) => {{{{
                ::kernel::kunit_assert_eq!("{suite}", ::core::file!(), 0, $left, $right);
            }}}};
        }}
        "#
    );
    let mut tail = String::new();
    let mut cases = String::new();
    for Test { name, cfg } in &tests {
        // A test left out by its #[cfg(...)] is reported as skipped.
        let _ = write!(
            tail,
            r#"
            extern "C" fn __kunit_case_{name}(test: *mut ::kernel::bindings::kunit) {{
                // SAFETY: KUnit passes the `struct kunit` of the case it runs.
                unsafe {{ (*test).status = ::kernel::bindings::kunit_status_KUNIT_SKIPPED }};
                {cfg} {{
                    // SAFETY: As above.
                    unsafe {{ (*test).status = ::kernel::bindings::kunit_status_KUNIT_SUCCESS }};
                    let passed = ::kernel::kunit::is_test_result_ok({name}());
                    assert!(passed);
                }}
            }}
            "#
        );
        let _ = writeln!(
            cases,
            "::kernel::kunit::kunit_case(::kernel::c_str!(\"{name}\"), __kunit_case_{name}),"
        );
    }
    let _ = write!(
        tail,
        r#"
        static mut TEST_CASES: [::kernel::bindings::kunit_case; {count}] = [
            {cases}
            ::kernel::kunit::kunit_case_null(),
        ];
        ::kernel::kunit_unsafe_test_suite!({suite}, TEST_CASES);
        "#,
        count = tests.len() + 1,
    );
    head.push('\n');

    let mut new_body: TokenStream = head.parse().expect("a valid token stream");
    new_body.extend(body);
    new_body.extend(tail.parse::<TokenStream>().expect("a valid token stream"));
    tokens.push(TokenTree::Group(Group::new(Delimiter::Brace, new_body)));
    tokens.into_iter().collect()
}
