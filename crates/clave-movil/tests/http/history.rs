//! "My requests": date, time, body, type, status; filters, ordering, paging.

use clave_movil::api::{HistoryOrder, HistoryQuery};
use clave_movil::domain::{RequestStatus, RequestType};

use crate::common::*;

#[tokio::test]
async fn my_requests_filters_orders_and_pages() {
    let h = Harness::start().await;
    let device = h.activated(ANA.0).await;
    // 1. AEAT, no-QR, confirmed on the device (10:00:00).
    let a = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    device.confirm(&a.id, Some(&a.code)).await.unwrap();
    // 2. DGT, QR, rejected (10:01:00).
    h.advance(60);
    let b = h.other.create_qr(None).await.unwrap();
    let frame = h.other.qr_frame(&b.id).await.unwrap();
    device.scan(&frame.payload).await.unwrap();
    device.reject(&b.id).await.unwrap();
    // 3. DGT, no-QR, completed by SMS (the next day).
    h.advance(24 * 3600);
    let c = h.other.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(60);
    h.other.request_sms(&c.id).await.unwrap();
    let pin = clave_movil::sms::code_in(&h.sms_to(ANA.2).await.unwrap()).unwrap();
    h.other.verify_pin(&c.id, &pin).await.unwrap();
    // 4. AEAT, no-QR, left to expire.
    h.advance(60);
    let d = h.service.create_no_qr(ANA.0, ANA.1).await.unwrap();
    h.advance(300);
    h.sweep();
    // Someone else's request is not listed.
    let bea = h.activated(BEA.0).await;
    h.service.create_no_qr(BEA.0, BEA.1).await.unwrap();

    let all = device.history(&HistoryQuery::default()).await.unwrap();
    assert_eq!(all.total, 4);
    let ids: Vec<&str> = all.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [d.id.as_str(), c.id.as_str(), b.id.as_str(), a.id.as_str()],
        "newest first"
    );
    let first = all.items.last().unwrap();
    assert_eq!(first.date, "2026-11-23");
    assert_eq!(first.time, "10:00:00");
    assert_eq!(first.body, BODY);
    assert_eq!(first.request_type, RequestType::NoQr);
    assert_eq!(first.status, RequestStatus::Confirmed);
    assert_eq!(all.items[0].status, RequestStatus::Expired);
    assert_eq!(all.items[1].request_type, RequestType::Sms);
    assert_eq!(all.items[2].request_type, RequestType::Qr);
    assert_eq!(all.items[2].status, RequestStatus::Rejected);

    let q = |f: fn(&mut HistoryQuery)| {
        let mut q = HistoryQuery::default();
        f(&mut q);
        q
    };
    let oldest = device
        .history(&q(|q| q.order = Some(HistoryOrder::Oldest)))
        .await
        .unwrap();
    assert_eq!(oldest.items[0].id, a.id);
    let by_body = device
        .history(&q(|q| q.order = Some(HistoryOrder::Body)))
        .await
        .unwrap();
    assert_eq!(by_body.items[0].body, BODY);
    assert_eq!(by_body.items[3].body, OTHER_BODY);
    let confirmed = device
        .history(&q(|q| q.status = Some(RequestStatus::Confirmed)))
        .await
        .unwrap();
    assert_eq!(confirmed.total, 2);
    let expired = device
        .history(&q(|q| q.status = Some(RequestStatus::Expired)))
        .await
        .unwrap();
    assert_eq!(expired.items.len(), 1);
    assert_eq!(expired.items[0].id, d.id);
    let sms = device
        .history(&q(|q| q.request_type = Some(RequestType::Sms)))
        .await
        .unwrap();
    assert_eq!(sms.items.len(), 1);
    assert_eq!(sms.items[0].id, c.id);
    let no_qr = device
        .history(&q(|q| q.request_type = Some(RequestType::NoQr)))
        .await
        .unwrap();
    assert_eq!(no_qr.total, 2);
    let qr = device
        .history(&q(|q| q.request_type = Some(RequestType::Qr)))
        .await
        .unwrap();
    assert_eq!(qr.total, 1);
    let dgt = device
        .history(&q(|q| q.body = Some("tráfico".into())))
        .await
        .unwrap();
    assert_eq!(dgt.total, 2);
    let wildcard = device
        .history(&q(|q| q.body = Some("%".into())))
        .await
        .unwrap();
    assert_eq!(wildcard.total, 0, "LIKE wildcards are escaped");
    let day1 = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let day2 = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let first_day = device
        .history(&q(|q| q.to = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)))
        .await
        .unwrap();
    assert_eq!(first_day.total, 2);
    let second_day = device
        .history(&HistoryQuery {
            from: Some(day2),
            to: Some(day2),
            ..HistoryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(second_day.total, 2);
    let both = device
        .history(&HistoryQuery {
            from: Some(day1),
            status: Some(RequestStatus::Confirmed),
            request_type: Some(RequestType::Sms),
            ..HistoryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(both.total, 1);
    // Paging.
    let page1 = device
        .history(&HistoryQuery {
            per_page: Some(3),
            ..HistoryQuery::default()
        })
        .await
        .unwrap();
    let page2 = device
        .history(&HistoryQuery {
            per_page: Some(3),
            page: Some(2),
            ..HistoryQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (page1.items.len(), page2.items.len(), page2.total),
        (3, 1, 4)
    );
    assert_eq!(page2.items[0].id, a.id);
    // Bad filters are 400s.
    let bad = device
        .history(&HistoryQuery {
            per_page: Some(0),
            ..HistoryQuery::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("CM-005"));
    let bad = device
        .history(&HistoryQuery {
            from: Some(day2),
            to: Some(day1),
            ..HistoryQuery::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("CM-005"));
    let r = device
        .signed(
            hyper::Method::GET,
            "/v1/device/history?status=unknown",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = device
        .signed(
            hyper::Method::GET,
            "/v1/device/history?colour=red",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    // Dates at the ends of the calendar are just dates.
    for q in [
        "to=%2B262143-12-31",
        "from=-262143-01-01",
        "to=9999-12-31&from=0001-01-01",
    ] {
        let r = device
            .signed(
                hyper::Method::GET,
                &format!("/v1/device/history?{q}"),
                Vec::new(),
            )
            .await
            .unwrap();
        assert!(r.status == 200 || r.status == 400, "{q}: {}", r.status);
    }
    // BEA sees only hers.
    assert_eq!(
        bea.history(&HistoryQuery::default()).await.unwrap().total,
        1
    );
}
