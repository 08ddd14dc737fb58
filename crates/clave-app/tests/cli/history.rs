//! "My requests": filters (status, type, body, dates), ordering, paging, the table.

use chrono::{Days, NaiveTime};
use clave_app::error::EXIT_USAGE;
use registry::Clock;
use serde_json::Value;

use crate::common::*;

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn my_requests_with_filters_ordering_and_paging() {
    let h = Harness::start().await;
    let app = h.activated_app(ANA.0).await;
    // Tomorrow 10:00 UTC, so the two days below do not straddle midnight (the clock
    // only moves forward: signatures from before the server started are refused).
    let day1 = h.clock.today().checked_add_days(Days::new(1)).unwrap();
    let day2 = day1.checked_add_days(Days::new(1)).unwrap();
    h.clock.set(
        day1.and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap())
            .and_utc(),
    );

    // a: AEAT, no-QR, confirmed (day 1, 10:00).
    let a = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    app.ok(&["confirm", a.id.as_str(), "--code", &a.code]).await;
    // b: DGT, QR, rejected (day 1, 10:01).
    h.advance(60);
    let b = h.other.create_qr(None).await.unwrap();
    app.ok(&[
        "scan",
        &h.other.qr_frame(b.id.as_str()).await.unwrap().payload,
    ])
    .await;
    app.ok(&["reject", b.id.as_str()]).await;
    // c: AEAT, QR, confirmed (day 2).
    h.advance(24 * 3600);
    let c = h.service.create_qr(None).await.unwrap();
    app.ok(&["scan", &h.frame(c.id.as_str()).await]).await;
    app.ok(&["confirm", c.id.as_str()]).await;
    // d: AEAT, no-QR, left to expire (day 2).
    h.advance(60);
    let d = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(300);
    h.sweep();
    // Someone else's request is not listed.
    h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();

    let all = app.ok(&["requests"]).await;
    assert_eq!(all["total"], 4);
    assert_eq!(
        ids(&all),
        [d.id.as_str(), c.id.as_str(), b.id.as_str(), a.id.as_str()],
        "newest first"
    );
    let first = &all["items"][3];
    assert_eq!(first["date"], day1.to_string());
    assert_eq!(first["time"], "10:00:00");
    assert_eq!(first["body"], BODY);
    assert_eq!(first["type"], "no_qr");
    assert_eq!(first["status"], "confirmed");

    let q = |args: &'static [&'static str]| {
        let mut v = vec!["requests"];
        v.extend_from_slice(args);
        v
    };
    assert_eq!(
        ids(&app.ok(&q(&["--order", "oldest"])).await),
        [a.id.as_str(), b.id.as_str(), c.id.as_str(), d.id.as_str()]
    );
    let by_body = app.ok(&q(&["--order", "body"])).await;
    assert_eq!(by_body["items"][0]["body"], BODY);
    assert_eq!(by_body["items"][3]["body"], OTHER_BODY);
    assert_eq!(
        ids(&app
            .ok(&q(&["--status", "confirmed", "--order", "oldest"]))
            .await),
        [a.id.as_str(), c.id.as_str()]
    );
    // Spanish aliases work too.
    assert_eq!(
        ids(&app.ok(&q(&["--status", "caducada"])).await),
        [d.id.as_str()]
    );
    assert_eq!(
        ids(&app.ok(&q(&["--type", "qr", "--order", "oldest"])).await),
        [b.id.as_str(), c.id.as_str()]
    );
    assert_eq!(
        ids(&app.ok(&q(&["--type", "no_qr"])).await),
        [d.id.as_str(), a.id.as_str()]
    );
    assert_eq!(
        ids(&app.ok(&q(&["--body", "tráfico"])).await),
        [b.id.as_str()]
    );
    assert_eq!(
        ids(&app
            .ok(&q(&["--body", "tributaria", "--status", "confirmed"]))
            .await),
        [c.id.as_str(), a.id.as_str()]
    );

    let (d1, d2) = (day1.to_string(), day2.to_string());
    let dated = |from: Option<&str>, to: Option<&str>| {
        let mut v = vec!["requests".to_owned()];
        if let Some(f) = from {
            v.extend(["--from".to_owned(), f.to_owned()]);
        }
        if let Some(t) = to {
            v.extend(["--to".to_owned(), t.to_owned()]);
        }
        v
    };
    let run_dated = async |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ids(&app.ok(&args).await)
    };
    assert_eq!(
        run_dated(dated(Some(&d2), None)).await,
        [d.id.as_str(), c.id.as_str()]
    );
    assert_eq!(
        run_dated(dated(None, Some(&d1))).await,
        [b.id.as_str(), a.id.as_str()]
    );
    assert_eq!(
        run_dated(dated(Some(&d1), Some(&d1))).await,
        [b.id.as_str(), a.id.as_str()]
    );
    // DD/MM/YYYY as well.
    let spanish_date = day2.format("%d/%m/%Y").to_string();
    assert_eq!(
        run_dated(dated(Some(&spanish_date), None)).await,
        [d.id.as_str(), c.id.as_str()]
    );

    let page = app.ok(&q(&["--per-page", "1", "--page", "2"])).await;
    assert_eq!(ids(&page), [c.id.as_str()]);
    assert_eq!(page["total"], 4);
    assert_eq!(page["page"], 2);
    assert_eq!(page["per_page"], 1);

    // The table for a person.
    let table = app.run(&["requests", "--order", "oldest"]).await;
    assert_eq!(table.exit, 0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Fecha       Hora      Organismo"),
        "{}",
        table.stdout
    );
    assert!(lines[1].starts_with(&format!("{d1}  10:00:00  Agencia Tributaria")));
    assert!(lines[1].contains("sin QR") && lines[1].contains("confirmada"));
    assert!(lines[2].contains("con QR") && lines[2].contains("rechazada"));
    assert!(lines[4].contains("caducada"));
    assert_eq!(lines[5], "Página 1 de 1 · 4 solicitudes en total");

    // Bad filters are refused by the command line.
    for bad in [
        &["requests", "--per-page", "0"][..],
        &["requests", "--per-page", "101"],
        &["requests", "--from", "ayer"],
        &["requests", "--status", "done"],
        &["requests", "--order", "random"],
    ] {
        let done = app.run(bad).await;
        assert_eq!(done.exit, EXIT_USAGE, "{bad:?}");
        assert!(!done.stderr.is_empty());
    }
}
