//! Wallets against a federation of 4 real `sharemint guardian` processes
//! (t = 3) on loopback: sending and receiving notes, double spends (also
//! concurrent, to overlapping guardian sets), a guardian offline, malicious
//! guardians, and malformed or forged note strings.

mod federation_support;

use federation::api::ErrorCode;
use federation::client::{ClientError, GuardianFailure, NoteString, WalletError};
use federation::{Msat, PeerId, SpendableNote};
use federation_support::TestFederation;

fn peers(ids: &[u16]) -> Vec<PeerId> {
    ids.iter().map(|i| PeerId(*i)).collect()
}

/// The refusal codes in a failed reissue, per guardian.
fn refusal_codes(error: &WalletError) -> Vec<(PeerId, ErrorCode)> {
    match error {
        WalletError::Federation(ClientError::NotEnoughAnswers { failures, .. }) => failures
            .refusals()
            .map(|(peer, e)| (*peer, e.code))
            .collect(),
        other => panic!("expected a federation refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_receive_and_the_senders_copy_is_refused() {
    let federation = TestFederation::start(4, &[]).await;
    let dirs = tempfile::tempdir().unwrap();
    let alice = federation.wallet(&dirs.path().join("alice"));
    let bob = federation.wallet(&dirs.path().join("bob"));

    let funding = federation.note_string(federation.mint(100_000));
    assert_eq!(
        alice.receive(&funding).await.unwrap(),
        Msat::from_msat(100_000)
    );
    assert_eq!(alice.balance().unwrap(), Msat::from_msat(100_000));

    // 12,345 msat cannot be made from alice's notes without a split.
    let sent = alice.send(Msat::from_msat(12_345)).await.unwrap();
    assert_eq!(alice.balance().unwrap(), Msat::from_msat(100_000 - 12_345));
    assert_eq!(bob.receive(&sent).await.unwrap(), Msat::from_msat(12_345));
    assert_eq!(bob.balance().unwrap(), Msat::from_msat(12_345));

    // Alice kept a copy of the string: spending it again is refused by
    // every guardian as already spent.
    let error = alice.receive(&sent).await.unwrap_err();
    let codes = refusal_codes(&error);
    assert!(!codes.is_empty(), "{error}");
    assert!(
        codes.iter().all(|(_, c)| *c == ErrorCode::AlreadySpent),
        "{error}"
    );
    assert_eq!(alice.balance().unwrap(), Msat::from_msat(100_000 - 12_345));

    // The original funding string too.
    assert!(bob.receive(&funding).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_receives_through_overlapping_guardians_exactly_one_succeeds() {
    let federation = TestFederation::start(4, &[]).await;
    let dirs = tempfile::tempdir().unwrap();
    let bob = federation.wallet(&dirs.path().join("bob"));
    let carol = federation.wallet(&dirs.path().join("carol"));
    let (left, right) = (peers(&[0, 1, 2]), peers(&[1, 2, 3]));
    let mut successes = 0;
    let rounds = 8;
    for _ in 0..rounds {
        let notes = federation.note_string(federation.mint(4_096 + 3));
        let (a, b) = tokio::join!(
            bob.receive_via(&notes, Some(&left)),
            carol.receive_via(&notes, Some(&right))
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "exactly one receive must succeed: bob {:?}, carol {:?}",
            a.as_ref().map_err(ToString::to_string),
            b.as_ref().map_err(ToString::to_string)
        );
        let loser = a.err().or(b.err()).unwrap();
        let codes = refusal_codes(&loser);
        assert!(
            codes.iter().any(|(_, c)| *c == ErrorCode::AlreadySpent),
            "{loser}"
        );
        successes += 1;
        // A later attempt through all guardians is refused too.
        assert!(bob.receive(&notes).await.is_err());
    }
    let total = bob.balance().unwrap().msat() + carol.balance().unwrap().msat();
    assert_eq!(
        total,
        successes as u64 * (4_096 + 3),
        "no money created or lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_double_receive_is_refused() {
    let federation = TestFederation::start(4, &[]).await;
    let dirs = tempfile::tempdir().unwrap();
    let bob = federation.wallet(&dirs.path().join("bob"));
    let carol = federation.wallet(&dirs.path().join("carol"));
    let notes = federation.note_string(federation.mint(777));
    bob.receive_via(&notes, Some(&peers(&[0, 1, 2])))
        .await
        .unwrap();
    let error = carol
        .receive_via(&notes, Some(&peers(&[1, 2, 3])))
        .await
        .unwrap_err();
    // Guardians are asked in order; the first (1) refuses with proof that
    // the note's key signed bob's request, and the client stops there.
    let codes = refusal_codes(&error);
    assert_eq!(codes, vec![(PeerId(1), ErrorCode::AlreadySpent)], "{error}");
    assert_eq!(carol.balance().unwrap(), Msat::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_guardian_offline_reissues_still_work() {
    let mut federation = TestFederation::start(4, &[]).await;
    federation.kill(3);
    let dirs = tempfile::tempdir().unwrap();
    let alice = federation.wallet(&dirs.path().join("alice"));
    let notes = federation.note_string(federation.mint(5_000));
    assert_eq!(alice.receive(&notes).await.unwrap(), Msat::from_msat(5_000));
    let sent = alice.send(Msat::from_msat(1_001)).await.unwrap();
    assert_eq!(
        NoteString::decode(&sent).unwrap().amount(),
        Msat::from_msat(1_001)
    );

    // Two offline: fewer than t, a clear error naming both.
    federation.kill(2);
    let bob = federation.wallet(&dirs.path().join("bob"));
    let error = bob.receive(&sent).await.unwrap_err();
    let WalletError::Federation(ClientError::NotEnoughAnswers { failures, .. }) = &error else {
        panic!("{error}");
    };
    for peer in [PeerId(2), PeerId(3)] {
        assert!(
            matches!(failures.0.get(&peer), Some(GuardianFailure::Unreachable(_))),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_with_wrong_shares_is_named_and_forges_nothing() {
    let federation = TestFederation::start(4, &[(3, "wrong-shares")]).await;
    let dirs = tempfile::tempdir().unwrap();
    let alice = federation.wallet(&dirs.path().join("alice"));
    let client = alice.client().clone();
    let inputs = federation.mint(1_024);
    let outputs = vec![federation::PendingOutput::random(inputs[0].denomination)];

    // Ask only guardians 1, 2 and 3: guardian 3's shares fail verification,
    // so only 2 valid answers: refused, with guardian 3 named.
    let error = client
        .reissue(&inputs, &outputs, Some(&peers(&[1, 2, 3])))
        .await
        .unwrap_err();
    assert_eq!(
        error.failures().unwrap().misbehaving(),
        vec![PeerId(3)],
        "{error}"
    );

    // With all four, the three honest answers make valid notes; guardian 3
    // is still named.
    let inputs = federation.mint(2_048);
    let outputs = vec![federation::PendingOutput::random(inputs[0].denomination)];
    let issued = client.reissue(&inputs, &outputs, None).await;
    let issued = match issued {
        Ok(issued) => issued,
        Err(error) => panic!("{error}"),
    };
    client.verify_notes(&[issued.notes[0].note()]).unwrap();
    // Guardian 3 may answer after the other three; when it answered first
    // it is named.
    let named = issued.failures.misbehaving();
    assert!(named.is_empty() || named == vec![PeerId(3)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_that_signs_double_spends_cannot_make_one() {
    let federation = TestFederation::start(4, &[(0, "double-spend")]).await;
    let dirs = tempfile::tempdir().unwrap();
    let bob = federation.wallet(&dirs.path().join("bob"));
    let carol = federation.wallet(&dirs.path().join("carol"));
    let notes = federation.note_string(federation.mint(3_000));
    bob.receive(&notes).await.unwrap();
    let error = carol.receive(&notes).await.unwrap_err();
    let WalletError::Federation(ClientError::NotEnoughAnswers {
        valid, failures, ..
    }) = &error
    else {
        panic!("{error}");
    };
    assert!(*valid <= 1, "{error}");
    // Guardian 0 signs anyway; guardian 1 refuses with proof and the client
    // stops: one valid answer of the three needed.
    assert!(
        failures
            .refusals()
            .any(|(_, e)| e.code == ErrorCode::AlreadySpent),
        "{error}"
    );
    assert_eq!(carol.balance().unwrap(), Msat::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_forged_note_strings_are_refused() {
    let federation = TestFederation::start(4, &[]).await;
    let dirs = tempfile::tempdir().unwrap();
    let bob = federation.wallet(&dirs.path().join("bob"));

    for garbage in [
        "",
        "hello",
        "sharemint-notes1!!!",
        "sharemint-notes1eyJ2ZXJzaW9uIjox",
    ] {
        let error = bob.receive(garbage).await.unwrap_err();
        assert!(
            matches!(error, WalletError::NoteString(_)),
            "{garbage}: {error}"
        );
    }

    // A note with a made-up signature: caught locally, before any guardian.
    let mut forged = federation.mint(64);
    let other = federation.mint(64);
    forged[0].signature = other[0].signature;
    let error = bob
        .receive(&federation.note_string(forged.clone()))
        .await
        .unwrap_err();
    assert!(matches!(error, WalletError::ForgedNote(0)), "{error}");

    // Sent to the guardians anyway: each refuses it as an invalid note.
    let outputs = vec![federation::PendingOutput::random(forged[0].denomination)];
    let error = bob
        .client()
        .reissue(&forged, &outputs, None)
        .await
        .unwrap_err();
    let codes: Vec<ErrorCode> = error
        .failures()
        .unwrap()
        .refusals()
        .map(|(_, e)| e.code)
        .collect();
    assert!(
        codes.len() >= 2 && codes.iter().all(|c| *c == ErrorCode::InvalidNote),
        "{error}"
    );

    // Unbalanced: asking for more than the inputs are worth.
    let inputs: Vec<SpendableNote> = federation.mint(64);
    let outputs = vec![federation::PendingOutput::random(
        federation::Denomination::from_msat(128).unwrap(),
    )];
    let error = bob
        .client()
        .reissue(&inputs, &outputs, None)
        .await
        .unwrap_err();
    assert!(error
        .failures()
        .unwrap()
        .refusals()
        .all(|(_, e)| e.code == ErrorCode::Unbalanced));

    // Notes of another federation.
    let stranger = TestFederation::start(1, &[]).await;
    let error = bob
        .receive(&stranger.note_string(stranger.mint(8)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, WalletError::WrongFederation { .. }),
        "{error}"
    );
    assert_eq!(bob.balance().unwrap(), Msat::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_from_seed_words_recovers_unspent_notes() {
    let federation = TestFederation::start(4, &[]).await;
    let dirs = tempfile::tempdir().unwrap();
    let alice = federation.wallet(&dirs.path().join("alice"));
    alice
        .receive(&federation.note_string(federation.mint(50_000)))
        .await
        .unwrap();
    let sent = alice.send(Msat::from_msat(10_000)).await.unwrap();
    let bob = federation.wallet(&dirs.path().join("bob"));
    bob.receive(&sent).await.unwrap();
    let words = alice.seed_words();
    drop(alice);

    let restored = federation::client::Wallet::create(
        &dirs.path().join("alice-restored"),
        federation.config.clone(),
        federation::client::WalletSeed::from_words(&words).unwrap(),
    )
    .unwrap();
    assert_eq!(restored.recover().await.unwrap(), Msat::from_msat(40_000));
    assert_eq!(restored.balance().unwrap(), Msat::from_msat(40_000));
    // The recovered notes spend.
    let again = restored.send(Msat::from_msat(40_000)).await.unwrap();
    federation
        .wallet(&dirs.path().join("carol"))
        .receive(&again)
        .await
        .unwrap();
}
