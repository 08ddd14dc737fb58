//! The counter's Cl@ve Móvil requests against the real endpoint on
//! 127.0.0.1 (its HTTP API, its SQLite store), the phone played by
//! [`DeviceClient`]. Time is the injected clock; no test measures speed (the
//! `clave_outcome` bench does).

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use clave_movil::client::{DeviceClient, DeviceKey, Endpoint};
use clave_movil::{ClaveMovil, Running};
use registry::{ManualClock, OsRandom, Secret};
use store::Store;

use crate::desk::tests::{Fixture, PASSWORD, fixture_on, form, secs_, test_clock};
use crate::desk::{ClaveLink, Desk};
use crate::errors::DeskError;
use crate::ipc::{ClaveIdentityDto, ClaveOutcomeDto, ClaveStatusDto, ClerkEvent, CounterView};

pub const BODY: &str = "Oficina de Registro — comprobación en ventanilla";

pub struct ClaveFixture {
    pub f: Fixture,
    pub desk: Arc<Desk>,
    pub clock: Arc<ManualClock>,
    pub running: Running,
    _dir: tempfile::TempDir,
}

impl ClaveFixture {
    pub async fn start() -> ClaveFixture {
        ClaveFixture::start_with("ana", true).await
    }

    /// `clerk` is logged in. `forward`: the engine's events reach the desk
    /// (as in the app); without them only the tick learns what happened.
    pub async fn start_with(clerk: &str, forward: bool) -> ClaveFixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in_dir(dir.path()).await.unwrap();
        let clock = test_clock();
        let mut config = clave_movil::Config::loopback(dir.path().to_path_buf());
        config.durable = false;
        let running = ClaveMovil::start(config, store.clone(), clock.clone(), Arc::new(OsRandom))
            .await
            .unwrap();
        let link = ClaveLink {
            engine: running.engine().clone(),
            body: BODY.to_owned(),
        };
        let f = fixture_on(store, clock.clone(), None, Some(link)).await;
        let desk = f.desk.clone();
        if forward {
            Desk::forward_clave_events(&desk);
        }
        desk.login(clerk, Secret::new(PASSWORD)).await.unwrap();
        ClaveFixture {
            f,
            desk,
            clock,
            running,
            _dir: dir,
        }
    }

    /// Registers the citizen of [`form`] at this desk (12345678Z, DNI expiring
    /// 2031-06-30), without a Cl@ve app.
    pub async fn register(&self) {
        self.desk.submit_alta(form()).await.unwrap();
        self.desk.counter_confirm().await.unwrap();
    }

    /// A Cl@ve app activated for a citizen registered at this desk.
    pub async fn device(&self) -> DeviceClient {
        self.register().await;
        let qr = self
            .running
            .engine()
            .create_activation_qr(&registry::DocumentNumber::parse("12345678Z").unwrap())
            .await
            .unwrap();
        let mut device = DeviceClient::new(
            Endpoint::plain(&self.running.base_url).unwrap(),
            DeviceKey::generate(&OsRandom),
            Arc::new((*self.clock).clone()),
            Arc::new(OsRandom),
        );
        device.activate_with_qr(&qr.payload).await.unwrap();
        device
    }

    pub fn showing_qr(&self) -> (String, String, Option<String>, u32) {
        match self.f.counter.last() {
            Some(CounterView::ClaveQr {
                body,
                code,
                counter,
                qr_svg,
                expires_in_secs,
            }) => {
                assert_eq!(counter, 1);
                (body, code, qr_svg, expires_in_secs)
            }
            other => panic!("counter shows {other:?}"),
        }
    }

    /// Waits (real time) for the counter to show `outcome`.
    pub async fn wait_done(&self, outcome: ClaveOutcomeDto) -> StdDuration {
        let started = Instant::now();
        while started.elapsed() < StdDuration::from_secs(5) {
            if let Some(CounterView::ClaveDone { outcome: shown, .. }) = self.f.counter.last() {
                assert_eq!(shown, outcome);
                return started.elapsed();
            }
            tokio::time::sleep(StdDuration::from_millis(2)).await;
        }
        panic!(
            "counter never showed {outcome:?}: {:?}",
            self.f.counter.last()
        );
    }

    /// The last Cl@ve event the clerk console got.
    pub fn clerk_clave(&self) -> ClerkEvent {
        self.f
            .clerk
            .all()
            .into_iter()
            .rev()
            .find(|e| matches!(e, ClerkEvent::Clave { .. }))
            .expect("the clerk heard of the request")
    }

    /// The request in progress, as the desk holds it.
    pub async fn request_id(&self) -> String {
        self.desk
            .state
            .lock()
            .await
            .clave
            .as_ref()
            .unwrap()
            .id
            .clone()
    }

    /// The clerk starts; the citizen chooses "without QR" and types `identity`.
    pub async fn no_qr(&self, identity: ClaveIdentityDto) -> Result<(), DeskError> {
        self.desk.clave_start().await.unwrap();
        self.desk.counter_clave_without_qr().await.unwrap();
        self.desk.counter_clave_identify(identity).await
    }

    /// What the counter shows for a request without QR (code, masked
    /// document, seconds left, seconds to the SMS link).
    pub fn showing_no_qr(&self) -> (String, String, u32, u32) {
        match self.f.counter.last() {
            Some(CounterView::ClaveNoQr {
                body,
                code,
                counter,
                document,
                expires_in_secs,
                sms_in_secs,
            }) => {
                assert_eq!((body.as_str(), counter), (BODY, 1));
                (code, document, expires_in_secs, sms_in_secs)
            }
            other => panic!("counter shows {other:?}"),
        }
    }

    /// The PIN screen: tries left and the error code shown.
    pub fn showing_pin(&self) -> (u32, Option<String>) {
        match self.f.counter.last() {
            Some(CounterView::ClaveSmsPin {
                tries_left,
                error_code,
                ..
            }) => (tries_left, error_code),
            other => panic!("counter shows {other:?}"),
        }
    }

    /// Sixty seconds later (the tick opens the SMS link).
    pub async fn wait_for_sms_link(&self) {
        self.clock.advance(secs_(60));
        self.desk.tick().await;
    }

    /// The newest SMS to the citizen's phone (sent right after the answer).
    pub async fn sms_pin(&self, sent_before: usize) -> String {
        let started = Instant::now();
        loop {
            let all = clave_movil::sms::outbox_entries(self.desk.store())
                .await
                .unwrap();
            if all.len() > sent_before {
                return clave_movil::sms::code_in(&all[0].text).unwrap();
            }
            assert!(started.elapsed() < StdDuration::from_secs(5), "no SMS");
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    }

    pub async fn outbox_len(&self) -> usize {
        clave_movil::sms::outbox_entries(self.desk.store())
            .await
            .unwrap()
            .len()
    }

    pub fn clerk_status(&self) -> Option<ClaveStatusDto> {
        self.f.clerk.all().iter().rev().find_map(|e| match e {
            ClerkEvent::Clave { status, .. } => Some(*status),
            _ => None,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizen_confirms_with_the_app_and_both_windows_see_it_at_once() {
    let c = ClaveFixture::start().await;
    let device = c.device().await;
    c.clock.advance(secs_(10));
    c.desk.tick().await;
    c.desk.clave_start().await.unwrap();
    let (body, code, svg, left) = c.showing_qr();
    assert_eq!(body, BODY);
    assert_eq!(code.len(), 3);
    assert_eq!(left, 300);
    let svg = svg.expect("a QR is drawn");
    assert!(svg.contains("<svg"), "{svg}");
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Pending));

    // A second later, a new frame.
    c.clock.advance(secs_(1));
    c.desk.tick().await;
    let (_, code2, svg2, left2) = c.showing_qr();
    assert_eq!(code2, code);
    assert_eq!(left2, 299);
    assert_ne!(svg2.unwrap(), svg, "the QR rotates every second");

    // Alta, PIN and a second request wait until this one ends.
    assert!(matches!(
        c.desk.clave_start().await,
        Err(crate::errors::DeskError::AltaBusy)
    ));

    // The app scans what the counter shows (the frame of this second).
    let pending = c.desk.state.lock().await.clave.as_ref().unwrap().id.clone();
    let frame = c.running.engine().qr_frame(&pending).unwrap();
    let seen = device.scan(&frame.payload).await.unwrap();
    assert_eq!(seen.body, BODY);
    let started = Instant::now();
    while c.clerk_status() != Some(ClaveStatusDto::Scanned) {
        assert!(
            started.elapsed() < StdDuration::from_secs(5),
            "scan not shown"
        );
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    let (_, _, svg, _) = c.showing_qr();
    assert!(svg.is_none(), "no QR once scanned: confirm in the app");

    device.confirm(&pending, None).await.unwrap();
    let took = c.wait_done(ClaveOutcomeDto::Confirmed).await;
    assert!(
        took < StdDuration::from_millis(500),
        "outcome took {took:?}"
    );
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Confirmed));

    // The done screen goes back to idle by itself.
    c.clock.advance(secs_(10));
    c.desk.tick().await;
    assert!(matches!(c.f.counter.last(), Some(CounterView::Welcome)));
    // Nothing left to cancel or renew.
    assert!(matches!(
        c.desk.clave_cancel().await,
        Err(crate::errors::DeskError::NoClaveRequest)
    ));
}

#[tokio::test]
async fn a_rejection_in_the_app_is_shown() {
    let c = ClaveFixture::start().await;
    let device = c.device().await;
    c.desk.clave_start().await.unwrap();
    let id = c.desk.state.lock().await.clave.as_ref().unwrap().id.clone();
    let frame = c.running.engine().qr_frame(&id).unwrap();
    device.scan(&frame.payload).await.unwrap();
    device.reject(&id).await.unwrap();
    c.wait_done(ClaveOutcomeDto::Rejected).await;
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Rejected));
}

#[tokio::test]
async fn the_citizen_renews_with_one_tap() {
    let c = ClaveFixture::start().await;
    c.desk.clave_start().await.unwrap();
    let old = c.desk.state.lock().await.clave.as_ref().unwrap().id.clone();
    c.clock.advance(secs_(280));
    c.desk.tick().await;
    let (_, _, _, left) = c.showing_qr();
    assert_eq!(left, 20, "the warning time");
    c.desk.counter_clave_renew().await.unwrap();
    let (_, _, svg, left) = c.showing_qr();
    assert_eq!(left, 300);
    assert!(svg.is_some());
    let new = c.desk.state.lock().await.clave.as_ref().unwrap().id.clone();
    assert_ne!(new, old);
    // The old request is over: its QR draws no more.
    assert!(c.running.engine().qr_frame(&old).is_err());
    c.clock.advance(secs_(100));
    c.desk.tick().await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveQr { .. })
    ));
}

#[tokio::test]
async fn the_clerk_cancels() {
    let c = ClaveFixture::start().await;
    c.desk.clave_start().await.unwrap();
    c.desk.clave_cancel().await.unwrap();
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Cancelled,
            by_sms: false
        })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Cancelled));
    assert!(matches!(
        c.desk.counter_clave_renew().await,
        Err(crate::errors::DeskError::NoClaveRequest)
    ));
    // A new one may start.
    c.desk.clave_start().await.unwrap();
}

#[tokio::test]
async fn an_unanswered_request_expires_after_five_minutes() {
    let c = ClaveFixture::start().await;
    c.desk.clave_start().await.unwrap();
    c.clock.advance(secs_(299));
    c.desk.tick().await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveQr {
            expires_in_secs: 1,
            ..
        })
    ));
    c.clock.advance(secs_(1));
    c.desk.tick().await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Expired,
            by_sms: false
        })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Expired));
    c.clock.advance(secs_(10));
    c.desk.tick().await;
    assert!(matches!(c.f.counter.last(), Some(CounterView::Welcome)));
}

#[tokio::test]
async fn logging_out_cancels_the_request() {
    let c = ClaveFixture::start().await;
    c.desk.clave_start().await.unwrap();
    let id = c.desk.state.lock().await.clave.as_ref().unwrap().id.clone();
    c.desk.logout().await.unwrap();
    assert!(matches!(c.f.counter.last(), Some(CounterView::Welcome)));
    assert!(c.running.engine().qr_frame(&id).is_err());
}

#[tokio::test]
async fn without_the_endpoint_the_desk_says_so() {
    let f = crate::desk::tests::logged_in("ana").await;
    assert!(matches!(
        f.desk.clave_start().await,
        Err(crate::errors::DeskError::ClaveDisabled)
    ));
}

fn dni(document: &str, expiry: &str) -> ClaveIdentityDto {
    ClaveIdentityDto {
        document: document.into(),
        expiry_date: expiry.into(),
        ..ClaveIdentityDto::default()
    }
}

/// The citizen of `form()`, as they would type it on the counter.
fn citizen() -> ClaveIdentityDto {
    dni("12.345.678-z", "30/06/2031")
}

fn field_codes(result: Result<(), DeskError>) -> Vec<(String, String)> {
    match result {
        Err(e @ DeskError::Invalid(_)) => e
            .to_dto()
            .fields
            .into_iter()
            .map(|f| (f.field, f.code))
            .collect(),
        other => panic!("not a form error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_qr_the_phone_picks_the_code_shown_at_the_counter() {
    let c = ClaveFixture::start().await;
    let device = c.device().await;
    c.desk.clave_start().await.unwrap();
    let qr = c.request_id().await;
    c.desk.counter_clave_without_qr().await.unwrap();
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveIdentify {
            counter: 1,
            expires_in_secs: 300,
            ..
        })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Identifying));

    c.desk.counter_clave_identify(citizen()).await.unwrap();
    let (code, document, left, sms_in) = c.showing_no_qr();
    assert_eq!((document.as_str(), left, sms_in), ("****5678Z", 300, 60));
    // The QR request behind the form is over.
    assert!(c.running.engine().qr_frame(&qr).is_err());
    let ClerkEvent::Clave {
        status,
        code: clerk_code,
        no_qr,
        document,
        sms_in_secs,
        ..
    } = c.clerk_clave()
    else {
        unreachable!()
    };
    assert_eq!(status, ClaveStatusDto::Waiting);
    assert_eq!(clerk_code, code);
    assert!(no_qr);
    assert_eq!(document.as_deref(), Some("****5678Z"), "masked for a clerk");
    assert_eq!(sms_in_secs, Some(60));

    // The app offers three codes; the citizen picks the one on the screen.
    let pending = device.pending(5).await.unwrap();
    let request = &pending.requests[0];
    let choices = request.choices.clone().unwrap();
    assert_eq!(choices.len(), 3);
    assert!(choices.contains(&code));
    device.confirm(&request.id, Some(&code)).await.unwrap();
    c.wait_done(ClaveOutcomeDto::Confirmed).await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone { by_sms: false, .. })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Confirmed));
}

#[tokio::test]
async fn the_citizen_can_go_back_to_the_qr_but_not_after_scanning_it() {
    let c = ClaveFixture::start().await;
    let device = c.device().await;
    c.desk.clave_start().await.unwrap();
    c.desk.counter_clave_without_qr().await.unwrap();
    c.desk.counter_clave_with_qr().await.unwrap();
    let (_, _, svg, _) = c.showing_qr();
    assert!(svg.is_some());
    assert!(matches!(
        c.desk.counter_clave_with_qr().await,
        Err(DeskError::ClaveWrongStep)
    ));
    // The SMS and the PIN belong to requests without QR.
    assert!(matches!(
        c.desk.counter_clave_request_sms().await,
        Err(DeskError::ClaveWrongStep)
    ));
    assert!(matches!(
        c.desk.counter_clave_identify(citizen()).await,
        Err(DeskError::ClaveWrongStep)
    ));
    let id = c.request_id().await;
    let frame = c.running.engine().qr_frame(&id).unwrap();
    device.scan(&frame.payload).await.unwrap();
    let started = Instant::now();
    while c.clerk_status() != Some(ClaveStatusDto::Scanned) {
        assert!(started.elapsed() < StdDuration::from_secs(5));
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    assert!(matches!(
        c.desk.counter_clave_without_qr().await,
        Err(DeskError::ClaveWrongStep)
    ));
}

#[tokio::test]
async fn malformed_data_is_refused_field_by_field_and_changes_nothing() {
    let c = ClaveFixture::start().await;
    c.desk.clave_start().await.unwrap();
    c.desk.counter_clave_without_qr().await.unwrap();
    let qr = c.request_id().await;
    let cases = [
        (dni("12345678A", "2031-06-30"), ("document", "DOC-004")),
        (dni("12345678Z", ""), ("expiryDate", "CTR-007")),
        (dni("12345678Z", "31/02/2031"), ("expiryDate", "CTR-003")),
        (dni("12345678Z", "2020-01-01"), ("expiryDate", "CTR-004")),
        (
            ClaveIdentityDto {
                permanent: true,
                ..dni("12345678Z", "")
            },
            ("issueDate", "CTR-006"),
        ),
        (
            ClaveIdentityDto {
                support_number: "12345678".into(),
                ..dni("X1234567L", "")
            },
            ("supportNumber", "CTR-010"),
        ),
        (dni("X1234567L", ""), ("supportNumber", "CTR-008")),
    ];
    for (form, (field, code)) in cases {
        let got = field_codes(c.desk.counter_clave_identify(form).await);
        assert_eq!(got, vec![(field.to_owned(), code.to_owned())]);
        assert!(matches!(
            c.f.counter.last(),
            Some(CounterView::ClaveIdentify { .. })
        ));
        assert_eq!(c.request_id().await, qr, "the QR request waits on");
    }
    // Two wrong fields: both reported.
    let got = field_codes(c.desk.counter_clave_identify(dni("1234567", "ayer")).await);
    assert_eq!(got.len(), 2, "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_contrast_and_unknown_citizens_look_the_same_and_reach_no_phone() {
    let c = ClaveFixture::start().await;
    let device = c.device().await;
    for identity in [
        // Registered, wrong expiry date.
        dni("12345678Z", "2031-07-01"),
        // Nobody.
        dni("87654321X", "2031-06-30"),
        // A NIE nobody holds, and a permanent DNI nobody holds.
        ClaveIdentityDto {
            support_number: "E12345678".into(),
            ..dni("X1234567L", "")
        },
        ClaveIdentityDto {
            permanent: true,
            issue_date: "2019-05-10".into(),
            ..dni("00000023T", "")
        },
    ] {
        c.no_qr(identity).await.unwrap();
        let (code, _, left, sms_in) = c.showing_no_qr();
        assert_eq!((code.len(), left, sms_in), (3, 300, 60));
        assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Waiting));
        // Nothing reached the phone.
        assert!(device.pending(0).await.unwrap().requests.is_empty());
        c.desk.clave_cancel().await.unwrap();
    }
    // The PIN by SMS "goes" as for anyone, and never arrives anywhere.
    let sent = c.outbox_len().await;
    c.no_qr(dni("87654321X", "2031-06-30")).await.unwrap();
    c.wait_for_sms_link().await;
    c.desk.counter_clave_request_sms().await.unwrap();
    assert_eq!(c.showing_pin(), (3, None));
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    assert_eq!(c.outbox_len().await, sent);
}

#[tokio::test]
async fn the_sms_link_opens_after_sixty_seconds_and_the_right_pin_completes_it() {
    let c = ClaveFixture::start().await;
    c.register().await;
    let sent = c.outbox_len().await;
    c.no_qr(citizen()).await.unwrap();
    c.clock.advance(StdDuration::from_millis(59_500));
    c.desk.tick().await;
    let (_, _, _, sms_in) = c.showing_no_qr();
    assert_ne!(sms_in, 0, "the link never shows before the engine takes it");
    // Too early: refused, and nothing changes.
    match c.desk.counter_clave_request_sms().await {
        Err(e @ DeskError::ClaveSmsTooEarly { .. }) => {
            assert_eq!(e.to_dto().params["retryAfterSecs"], "1");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.desk.counter_clave_submit_pin(Secret::new("123456")).await,
        Err(DeskError::ClaveNoPin)
    ));
    let (_, _, _, sms_in) = c.showing_no_qr();
    assert_eq!(sms_in, 60, "the counter counts down by itself");
    assert_eq!(c.outbox_len().await, sent);

    c.clock.advance(StdDuration::from_millis(500));
    c.desk.tick().await;
    let (_, _, _, sms_in) = c.showing_no_qr();
    assert_eq!(sms_in, 0);
    let ClerkEvent::Clave { sms_in_secs, .. } = c.clerk_clave() else {
        unreachable!()
    };
    assert_eq!(sms_in_secs, Some(0), "the clerk sees the SMS option open");
    c.desk.counter_clave_request_sms().await.unwrap();
    assert_eq!(c.showing_pin(), (3, None));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::SmsSent));
    let pin = c.sms_pin(sent).await;
    // A second SMS at once is refused (one valid PIN).
    assert!(matches!(
        c.desk.counter_clave_request_sms().await,
        Err(DeskError::ClaveSmsResendTooSoon { .. })
    ));
    c.desk
        .counter_clave_submit_pin(Secret::new(pin))
        .await
        .unwrap();
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Confirmed,
            by_sms: true
        })
    ));
    let ClerkEvent::Clave { status, by_sms, .. } = c.clerk_clave() else {
        unreachable!()
    };
    assert_eq!((status, by_sms), (ClaveStatusDto::Confirmed, true));
}

#[tokio::test]
async fn three_wrong_pins_reject_the_request() {
    let c = ClaveFixture::start().await;
    c.register().await;
    c.no_qr(citizen()).await.unwrap();
    c.wait_for_sms_link().await;
    let sent = c.outbox_len().await;
    c.desk.counter_clave_request_sms().await.unwrap();
    let pin = c.sms_pin(sent).await;
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    // Not 6 digits: refused before it costs a try.
    for bad in ["12345", "12345a", "1234567", ""] {
        assert!(matches!(
            c.desk.counter_clave_submit_pin(Secret::new(bad)).await,
            Err(DeskError::ClavePinFormat)
        ));
    }
    assert_eq!(c.showing_pin(), (3, None));
    for left in [2, 1] {
        c.desk
            .counter_clave_submit_pin(Secret::new(wrong))
            .await
            .unwrap();
        assert_eq!(c.showing_pin(), (left, Some("CLAVE-009".to_owned())));
        let ClerkEvent::Clave { tries_left, .. } = c.clerk_clave() else {
            unreachable!()
        };
        assert_eq!(tries_left, Some(left));
    }
    c.desk
        .counter_clave_submit_pin(Secret::new(wrong))
        .await
        .unwrap();
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Rejected,
            by_sms: true
        })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Rejected));
    // The right PIN is of no use now.
    assert!(matches!(
        c.desk.counter_clave_submit_pin(Secret::new(pin)).await,
        Err(DeskError::NoClaveRequest)
    ));
}

#[tokio::test]
async fn a_request_without_qr_expires_renews_and_is_cancelled() {
    let c = ClaveFixture::start().await;
    c.register().await;
    c.no_qr(citizen()).await.unwrap();
    let old = c.request_id().await;
    let (old_code, _, _, _) = c.showing_no_qr();
    c.clock.advance(secs_(290));
    c.desk.tick().await;
    // One tap: a new request with the same data, the full time, a new SMS wait.
    c.desk.counter_clave_renew().await.unwrap();
    let (code, document, left, sms_in) = c.showing_no_qr();
    assert_eq!((document.as_str(), left, sms_in), ("****5678Z", 300, 60));
    let new = c.request_id().await;
    assert_ne!(new, old);
    let _ = (code, old_code);
    let before = c.running.engine().counter_request(&old).await.unwrap();
    assert_eq!(before.status, clave_movil::domain::RequestStatus::Cancelled);

    c.clock.advance(secs_(300));
    c.desk.tick().await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Expired,
            by_sms: false
        })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Expired));

    // The clerk cancels while the citizen types, and while the phone is asked.
    c.desk.unlock(Secret::new(PASSWORD)).await.unwrap();
    c.desk.clave_start().await.unwrap();
    c.desk.counter_clave_without_qr().await.unwrap();
    c.clock.advance(secs_(100));
    c.desk.counter_clave_renew().await.unwrap();
    assert!(
        matches!(
            c.f.counter.last(),
            Some(CounterView::ClaveIdentify {
                expires_in_secs: 300,
                ..
            })
        ),
        "renewing keeps the form"
    );
    c.desk.clave_cancel().await.unwrap();
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Cancelled));
    c.no_qr(citizen()).await.unwrap();
    let id = c.request_id().await;
    c.desk.clave_cancel().await.unwrap();
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Cancelled,
            ..
        })
    ));
    let stored = c.running.engine().counter_request(&id).await.unwrap();
    assert_eq!(stored.status, clave_movil::domain::RequestStatus::Cancelled);
}

#[tokio::test]
async fn a_missed_outcome_is_read_back_not_taken_for_a_cancellation() {
    // No events: as if the desk lagged behind and missed them all.
    let c = ClaveFixture::start_with("ana", false).await;
    let device = c.device().await;
    c.desk.clave_start().await.unwrap();
    let id = c.request_id().await;
    let frame = c.running.engine().qr_frame(&id).unwrap();
    device.scan(&frame.payload).await.unwrap();
    device.confirm(&id, None).await.unwrap();
    // The engine forgets final requests 2 s later.
    c.clock.advance(secs_(3));
    c.running.engine().sweep();
    assert_eq!(c.running.engine().stats().requests_in_memory, 0);
    c.desk.tick().await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Confirmed,
            by_sms: false
        })
    ));
    assert_eq!(c.clerk_status(), Some(ClaveStatusDto::Confirmed));

    // Without QR, completed by SMS: the stored outcome says so too.
    c.clock.advance(secs_(10));
    c.desk.tick().await;
    c.no_qr(citizen()).await.unwrap();
    c.wait_for_sms_link().await;
    let sent = c.outbox_len().await;
    c.desk.counter_clave_request_sms().await.unwrap();
    let pin = c.sms_pin(sent).await;
    let id = c.request_id().await;
    c.running
        .engine()
        .counter_verify_pin(&id, &pin)
        .await
        .unwrap();
    c.clock.advance(secs_(3));
    c.running.engine().sweep();
    c.desk.tick().await;
    assert!(matches!(
        c.f.counter.last(),
        Some(CounterView::ClaveDone {
            outcome: ClaveOutcomeDto::Confirmed,
            by_sms: true
        })
    ));
}

#[tokio::test]
async fn only_supervisors_see_the_document_unmasked_and_each_view_is_audited() {
    let c = ClaveFixture::start().await;
    c.register().await;
    // A clerk never sees it unmasked.
    assert!(matches!(
        c.desk.clave_show_document().await,
        Err(DeskError::Forbidden)
    ));
    c.no_qr(citizen()).await.unwrap();
    assert!(matches!(
        c.desk.clave_show_document().await,
        Err(DeskError::Forbidden)
    ));

    let s = ClaveFixture::start_with("sara", true).await;
    s.register().await;
    s.desk.clave_start().await.unwrap();
    assert!(matches!(
        s.desk.clave_show_document().await,
        Err(DeskError::NoClaveRequest)
    ));
    s.desk.clave_cancel().await.unwrap();
    s.no_qr(citizen()).await.unwrap();
    let ClerkEvent::Clave { document, .. } = s.clerk_clave() else {
        unreachable!()
    };
    assert_eq!(
        document.as_deref(),
        Some("****5678Z"),
        "masked until asked for"
    );
    let before = s.desk.store().audit_entries().await.unwrap().len();
    for _ in 0..2 {
        assert_eq!(s.desk.clave_show_document().await.unwrap(), "12345678Z");
    }
    let entries = s.desk.store().audit_entries().await.unwrap();
    let shown: Vec<_> = entries[before..]
        .iter()
        .filter(|e| e.action == "citizen_data_shown")
        .collect();
    assert_eq!(shown.len(), 2, "every unmasked view is audited");
    assert_eq!(shown[0].actor, "sara");
    assert!(shown[0].citizen_id.is_some());
    assert!(shown[0].detail.contains("clave_movil_document"));
    assert!(!shown[0].detail.contains("12345678"), "{}", shown[0].detail);
}

#[tokio::test]
async fn personal_data_stays_out_of_debug_output_and_a_reloaded_console_catches_up() {
    let c = ClaveFixture::start().await;
    c.register().await;
    c.no_qr(citizen()).await.unwrap();
    c.wait_for_sms_link().await;
    c.desk.counter_clave_request_sms().await.unwrap();
    for text in [
        format!("{:?}", c.f.counter.all()),
        format!("{:?}", c.f.clerk.all()),
        format!("{:?}", citizen()),
    ] {
        assert!(!text.contains("12345678"), "{text}");
        assert!(!text.contains("2031-06-30") && !text.contains("30/06/2031"));
    }
    // A reloaded clerk window gets the request's state at once.
    let clerk = Arc::new(crate::desk::tests::Recorder::default());
    c.desk.subscribe_clerk(clerk.clone()).await;
    assert!(matches!(
        clerk.all().as_slice(),
        [
            ClerkEvent::Readers { .. },
            ClerkEvent::Clave {
                status: ClaveStatusDto::SmsSent,
                tries_left: Some(3),
                ..
            }
        ]
    ));
}
