//! A guardian killed with SIGKILL in the middle of a stream of reissues:
//! after a restart every lock and answer it acknowledged is still there, a
//! retried request gets the same signature shares, a conflicting request is
//! refused, and the requests cut off by the kill complete on retry.

mod federation_support;

use std::time::Duration;

use federation::api::{
    ApiError, ErrorCode, NoteStateRequest, NoteStateResponse, ReissueRequest, SignatureShares,
};
use federation::{PendingOutput, SpendableNote};
use federation_support::TestFederation;

fn request(federation: &TestFederation, notes: &[SpendableNote]) -> ReissueRequest {
    let outputs = notes
        .iter()
        .map(|n| PendingOutput::random(n.denomination).blinded())
        .collect();
    ReissueRequest::new(
        &federation.config.id(),
        notes.iter().map(|n| (n.note(), n.keypair())).collect(),
        outputs,
    )
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    request: &ReissueRequest,
) -> Result<Result<SignatureShares, ApiError>, reqwest::Error> {
    let response = http
        .post(format!("{url}/v1/reissue"))
        .json(request)
        .send()
        .await?;
    if response.status().is_success() {
        Ok(Ok(response.json().await?))
    } else {
        Ok(Err(response.json().await?))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_reissue_loses_no_lock() {
    let mut federation = TestFederation::start(4, &[]).await;
    let url = federation.url(1);
    let minted: Vec<Vec<SpendableNote>> = (0..300).map(|_| federation.mint(1_000 + 23)).collect();
    let requests: Vec<ReissueRequest> = minted
        .iter()
        .map(|notes| request(&federation, notes))
        .collect();

    // Stream requests at guardian 1 from a task; kill it while they flow.
    let http = reqwest::Client::new();
    let sender = {
        let (http, url, requests) = (http.clone(), url.clone(), requests.clone());
        tokio::spawn(async move {
            let mut answered = Vec::new();
            for (i, request) in requests.iter().enumerate() {
                match post(&http, &url, request).await {
                    Ok(Ok(shares)) => answered.push((i, shares)),
                    Ok(Err(refusal)) => panic!("guardian refused request {i}: {refusal}"),
                    Err(_) => break, // the kill
                }
            }
            answered
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    federation.kill(1);
    let answered = sender.await.unwrap();
    assert!(
        !answered.is_empty(),
        "guardian answered nothing before the kill"
    );
    assert!(
        answered.len() < requests.len(),
        "the kill came after every request"
    );
    federation.restart(1).await;

    // Every acknowledged note is still spent there.
    let nonces = answered
        .iter()
        .flat_map(|(i, _)| requests[*i].inputs.iter().map(|n| n.nonce))
        .collect();
    let state: NoteStateResponse = http
        .post(format!("{url}/v1/note_state"))
        .json(&NoteStateRequest { nonces })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        state.spent.iter().all(|s| *s),
        "a lock acknowledged before the kill was lost"
    );

    // Retries get the identical answer; a different request for the same
    // notes is refused as already spent.
    for (i, shares) in &answered {
        let again = post(&http, &url, &requests[*i]).await.unwrap().unwrap();
        assert_eq!(
            &again, shares,
            "retry of request {i} got a different answer"
        );
    }
    let (first, _) = answered[0];
    let conflicting = request(&federation, &minted[first]);
    let refused = post(&http, &url, &conflicting).await.unwrap().unwrap_err();
    assert_eq!(refused.code, ErrorCode::AlreadySpent, "{refused}");

    // The requests cut off by the kill complete now.
    for request in &requests[answered.len()..] {
        post(&http, &url, request).await.unwrap().unwrap();
    }
}
