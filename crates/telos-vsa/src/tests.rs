//! The algebra's properties, each over random atoms and sizes.

use proptest::prelude::*;

use crate::{BundleRule, Expr, Hv, bundle, noise};

fn atom(n: u32, dim: usize) -> Hv {
    Hv::atom("test", &format!("a{n}"), dim)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn unbind_undoes_bind(x in 0u32..1000, y in 1000u32..2000, dim in 64usize..3000) {
        let (a, b) = (atom(x, dim), atom(y, dim));
        let back = a.bind(&b).unbind(&b);
        // float rounding only: every component within 1e-5 of the original
        for (p, q) in back.as_slice().iter().zip(a.as_slice()) {
            prop_assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
        prop_assert!(back.similarity(&a) > 1.0 - 1e-5);
    }

    #[test]
    fn random_atoms_are_quasi_orthogonal(x in 0u32..1000, y in 1000u32..2000, dim in 1000usize..12000) {
        let s = atom(x, dim).similarity(&atom(y, dim));
        // 6 standard deviations: a false failure about once in 10^9 cases
        prop_assert!(s.abs() < 6.0 * noise(dim), "similarity {s} at dim {dim}");
    }

    #[test]
    fn a_bundle_stays_similar_to_each_member(n in 2usize..40, base in 0u32..1000, phasor in any::<bool>()) {
        let dim = 4000;
        let members: Vec<Hv> = (0..n as u32).map(|k| atom(base * 100 + k, dim)).collect();
        let rule = if phasor { BundleRule::Phasor } else { BundleRule::Sum };
        let b = bundle(dim, &members, rule);
        // Sum: 1/√n each; Phasor: √(π/4)/√n; both well above six noise deviations here
        let expected = 1.0 / (n as f32).sqrt() * if phasor { 0.886 } else { 1.0 };
        for m in &members {
            let s = b.similarity(m);
            prop_assert!((s - expected).abs() < 6.0 * noise(dim), "member {s}, expected {expected}");
        }
        let outsider = atom(999_999, dim);
        prop_assert!(b.similarity(&outsider).abs() < 6.0 * noise(dim));
    }

    #[test]
    fn adding_four_at_a_time_is_adding_one_by_one(n in 0usize..11, base in 0u32..1000) {
        let dim = 300;
        let members: Vec<Hv> = (0..n as u32).map(|k| atom(base * 100 + k, dim)).collect();
        let mut one_by_one = crate::Bundle::new(dim);
        members.iter().for_each(|m| {
            one_by_one.add(m);
        });
        let mut grouped = crate::Bundle::new(dim);
        grouped.add_all(&members);
        prop_assert_eq!(grouped.len(), n);
        let (p, q) = (grouped.finish(BundleRule::Sum), one_by_one.finish(BundleRule::Sum));
        // the same sums, added in another order: float rounding only
        for (x, y) in p.as_slice().iter().zip(q.as_slice()) {
            prop_assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn binding_preserves_similarity_and_commutes(x in 0u32..1000, y in 1000u32..2000, z in 2000u32..3000) {
        let dim = 2000;
        let (a, b, c) = (atom(x, dim), atom(y, dim), atom(z, dim));
        let ab = bundle(dim, [&a, &b], BundleRule::Phasor);
        prop_assert!((ab.bind(&c).similarity(&a.bind(&c)) - ab.similarity(&a)).abs() < 1e-4);
        prop_assert!(a.bind(&b).similarity(&b.bind(&a)) > 1.0 - 1e-5);
        prop_assert!(a.bind(&b).bind(&c).similarity(&a.bind(&b.bind(&c))) > 1.0 - 1e-5);
        // and the bound pair resembles neither factor
        prop_assert!(a.bind(&b).similarity(&a).abs() < 6.0 * noise(dim));
    }

    #[test]
    fn permutation_is_invertible_and_hides_its_input(x in 0u32..1000, k in 1isize..500) {
        let dim = 2000;
        let a = atom(x, dim);
        prop_assert_eq!(a.permute(k).permute(-k), a.clone());
        prop_assert!(a.permute(k).similarity(&a).abs() < 6.0 * noise(dim));
        prop_assert_eq!(a.permute(dim as isize), a);
    }

    #[test]
    fn printed_expressions_parse_back(e in expr_strategy()) {
        let text = e.to_string();
        prop_assert_eq!(Expr::parse(&text).expect(&text), e);
    }
}

fn expr_strategy() -> impl Strategy<Value = Expr> {
    let name = prop_oneof!["[a-z][a-z0-9_]{0,6}", "[a-z ]{1,5}\"?\\\\?",].prop_map(Expr::Symbol);
    name.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Bind(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Expr::Unbind(Box::new(a), Box::new(b))),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Bundle),
        ]
    })
}

#[test]
fn a_record_answers_who_and_what() {
    // topic * rust + source * doc7 + persona * babs: unbinding a role recovers its filler
    let dim = 10_000;
    let s = |n: &str| Hv::atom("BABS", n, dim);
    let record = Expr::parse("topic * rust + source * doc7 + persona * babs")
        .unwrap()
        .eval(&mut |n| Ok::<_, ()>(s(n)))
        .unwrap();
    let q = Expr::parse("(topic*rust + source*doc7 + persona*babs) / source").unwrap();
    let got = q.eval(&mut |n| Ok::<_, ()>(s(n))).unwrap();
    assert!((got.similarity(&record.unbind(&s("source"))) - 1.0).abs() < 1e-5);
    let best = ["rust", "doc7", "babs", "topic", "source", "persona"]
        .iter()
        .max_by(|a, b| got.similarity(&s(a)).total_cmp(&got.similarity(&s(b))))
        .unwrap();
    assert_eq!(*best, "doc7");
    assert!(got.similarity(&s("doc7")) > 0.5);
}

#[test]
fn parsing_follows_precedence_and_names_the_column_of_an_error() {
    let e = Expr::parse("a + b * c / d").unwrap();
    assert_eq!(e.to_string(), "a + b * c / d");
    let Expr::Bundle(items) = &e else {
        panic!("{e:?}")
    };
    assert!(matches!(&items[1], Expr::Unbind(l, _) if matches!(**l, Expr::Bind(..))));
    assert_eq!(
        Expr::parse("a * (b + c)").unwrap().to_string(),
        "a * (b + c)"
    );
    assert_eq!(
        Expr::parse("a / (b / c)").unwrap().to_string(),
        "a / (b / c)"
    );
    assert_eq!(
        Expr::parse(r#""source file" * x"#).unwrap().symbols(),
        ["source file", "x"]
    );
    let err = Expr::parse("a * + b").unwrap_err();
    assert_eq!(err.at, 5, "{err}");
    assert!(
        err.to_string()
            .contains("column 5: expected a name or `(`, found `+`"),
        "{err}"
    );
    assert_eq!(Expr::parse("(a + b").unwrap_err().message, "expected `)`");
    assert_eq!(Expr::parse("a b").unwrap_err().at, 3);
    assert!(Expr::parse("").is_err());
    assert!(Expr::parse("\"open").is_err());
}

#[test]
fn evaluation_names_an_unknown_symbol_and_a_dimension_mismatch() {
    let e = Expr::parse("a * b").unwrap();
    let err = e.eval(&mut |n| {
        if n == "a" {
            Ok(Hv::atom("t", n, 8))
        } else {
            Err(format!("no symbol {n}"))
        }
    });
    assert_eq!(err.unwrap_err().to_string(), "no symbol b");
    let err = e.eval(&mut |n| Ok::<_, String>(Hv::atom("t", n, if n == "a" { 8 } else { 16 })));
    assert_eq!(
        err.unwrap_err().to_string(),
        "symbol \"b\" has dimension 16, the expression's others 8"
    );
}

#[test]
fn kernels_agree_with_plain_complex_arithmetic() {
    // odd sizes exercise the vector loops' tails
    for dim in [1, 7, 8, 9, 33, 1001] {
        let (a, b) = (atom(1, dim), atom(2, dim));
        let (ab, a_b) = (a.bind(&b), a.unbind(&b));
        for k in 0..dim {
            let (ar, ai, br, bi) = (a.re()[k], a.im()[k], b.re()[k], b.im()[k]);
            assert!((ab.re()[k] - (ar * br - ai * bi)).abs() < 1e-6);
            assert!((ab.im()[k] - (ar * bi + ai * br)).abs() < 1e-6);
            assert!((a_b.re()[k] - (ar * br + ai * bi)).abs() < 1e-6);
            assert!((a_b.im()[k] - (ai * br - ar * bi)).abs() < 1e-6);
        }
        let mut out = Hv::zeros(dim);
        a.bind_into(&b, &mut out);
        assert_eq!(out, ab);
        a.unbind_into(&b, &mut out);
        assert_eq!(out, a_b);
        let plain: f32 = a
            .as_slice()
            .iter()
            .zip(b.as_slice())
            .map(|(x, y)| x * y)
            .sum();
        assert!((a.similarity(&b) * dim as f32 - plain).abs() < 1e-3 * dim as f32);
        assert!((a.norm2() - dim as f32).abs() < 1e-3 * dim as f32);
    }
    // a zero component becomes phase 0, never NaN
    let z = Hv::zeros(3).to_phasors();
    assert_eq!(z.as_slice(), [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
}

#[test]
#[should_panic(expected = "bundle")]
fn a_group_of_four_with_another_dimension_is_refused() {
    let members: Vec<Hv> = (0..3).map(|k| atom(k, 64)).chain([atom(9, 65)]).collect();
    crate::Bundle::new(64).add_all(&members);
}
