//! `sharemint federation init` and `dkg` as real processes on loopback: four
//! guardians generate their keys together and write byte-identical public
//! configs whose keys sign at the threshold (and not below); a run given a
//! wrong or unknown setup string fails with an error naming that guardian.

use federation::tbs;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use federation::{FederationConfig, GuardianSecrets};
use tokio::process::Command;

fn sharemint() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sharemint"));
    command.kill_on_drop(true).stdin(Stdio::null());
    command
}

/// `federation init` for a guardian named `name` listening on `port`;
/// returns its setup string.
async fn init(dir: &Path, name: &str, port: u16) -> String {
    let output = sharemint()
        .args(["federation", "init", "--dir"])
        .arg(dir)
        .args([
            "--name",
            name,
            "--api-url",
            &format!("http://127.0.0.1:{}", port + 1),
        ])
        .args(["--p2p-listen", &format!("/ip4/127.0.0.1/tcp/{port}")])
        .output()
        .await
        .expect("run sharemint");
    assert!(
        output.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Starts `federation dkg --json` for the guardian in `dir` with `peers`.
async fn dkg(dir: &Path, peers: &[String], connect_timeout: u64) -> Output {
    let mut command = sharemint();
    command
        .args(["--json", "federation", "dkg", "--dir"])
        .arg(dir)
        .args(["--network", "regtest", "--max-exponent", "12"])
        .args(["--connect-timeout", &connect_timeout.to_string()]);
    for peer in peers {
        command.args(["--peer", peer]);
    }
    let run = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("dkg finishes within two minutes")
        .expect("run sharemint")
}

struct Guardians {
    _root: tempfile::TempDir,
    dirs: Vec<PathBuf>,
    setups: Vec<String>,
}

async fn guardians(names: &[&str]) -> Guardians {
    let root = tempfile::tempdir().unwrap();
    let ports = tests::ports::free_ports(names.len() * 2);
    let mut dirs = Vec::new();
    let mut setups = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let dir = root.path().join(name);
        setups.push(init(&dir, name, ports[2 * i]).await);
        dirs.push(dir);
    }
    Guardians {
        _root: root,
        dirs,
        setups,
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn four_guardians_write_identical_configs_whose_keys_sign_at_threshold() {
    let g = guardians(&["alice", "bob", "carol", "dave"]).await;
    let runs = g.dirs.iter().map(|dir| dkg(dir, &g.setups, 60));
    let outputs = futures::future::join_all(runs).await;
    for (dir, output) in g.dirs.iter().zip(&outputs) {
        assert!(
            output.status.success(),
            "{}: {}",
            dir.display(),
            stderr(output)
        );
    }

    // Byte-identical configs, the same id printed by everyone.
    let configs: Vec<Vec<u8>> = g
        .dirs
        .iter()
        .map(|d| std::fs::read(d.join("federation.json")).unwrap())
        .collect();
    assert!(configs.iter().all(|c| *c == configs[0]), "configs differ");
    let config =
        FederationConfig::read(&g.dirs[0].join("federation.json")).expect("a valid config");
    let printed: Vec<serde_json::Value> = outputs
        .iter()
        .map(|o| serde_json::from_slice(&o.stdout).expect("JSON on stdout"))
        .collect();
    for out in &printed {
        assert_eq!(out["federation_id"], config.id().to_string());
    }
    assert_eq!(config.threshold, 3);
    assert!(
        config.descriptor.starts_with("wsh(sortedmulti(3,"),
        "{}",
        config.descriptor
    );

    // Secrets: private files, each matching its guardian's public shares.
    let mut secrets = Vec::new();
    for dir in &g.dirs {
        assert_eq!(mode(dir), 0o700);
        assert_eq!(mode(&dir.join("guardian-secrets.json")), 0o600);
        assert_eq!(mode(&dir.join("guardian-init.json")), 0o600);
        let s = GuardianSecrets::read(&dir.join("guardian-secrets.json")).unwrap();
        s.check_against(&config).expect("secrets match the config");
        secrets.push(s);
    }
    let mut peers: Vec<u16> = secrets.iter().map(|s| s.peer.0).collect();
    peers.sort();
    assert_eq!(peers, vec![0, 1, 2, 3]);

    // Blind-sign one message with three guardians' shares: it verifies under
    // the config's aggregate key. Two shares do not.
    let denomination = *config.denominations.keys().nth(5).unwrap();
    let keys = &config.denominations[&denomination];
    let message = tbs::Message::from_bytes(b"a note nonce");
    let blinding = tbs::BlindingKey::random();
    let blinded = tbs::blind_message(message, blinding);
    let shares: BTreeMap<u64, tbs::BlindedSignatureShare> = secrets
        .iter()
        .map(|s| {
            (
                u64::from(s.peer.0),
                tbs::sign_message(blinded, s.key_shares[&denomination]),
            )
        })
        .collect();
    for (peer, share) in &shares {
        let pk = keys.shares[&federation::PeerId(*peer as u16)];
        assert!(tbs::verify_signature_share(blinded, *share, pk));
    }
    let sign_with = |peers: &[u64]| {
        let chosen: BTreeMap<u64, tbs::BlindedSignatureShare> =
            peers.iter().map(|p| (*p, shares[p])).collect();
        tbs::unblind_signature(blinding, tbs::aggregate_signature_shares(&chosen))
    };
    for three in [[0, 1, 2], [1, 2, 3], [0, 1, 3]] {
        assert!(
            tbs::verify(message, sign_with(&three), keys.aggregate),
            "{three:?}"
        );
    }
    assert!(!tbs::verify(message, sign_with(&[0, 3]), keys.aggregate));
}

#[tokio::test]
async fn an_unknown_peer_string_is_named_when_it_cannot_be_reached() {
    // "erin" ran init but never runs dkg: nobody can reach her.
    let g = guardians(&["alice", "bob", "carol", "erin"]).await;
    let runs = g.dirs[..3].iter().map(|dir| dkg(dir, &g.setups, 4));
    for output in futures::future::join_all(runs).await {
        assert!(!output.status.success());
        let err = stderr(&output);
        assert!(
            err.contains("could not reach guardian") && err.contains("(erin)"),
            "{err}"
        );
        assert!(
            !err.contains("(bob) (") && !err.contains("(carol) ("),
            "{err}"
        );
    }
    for dir in &g.dirs {
        assert!(!dir.join("federation.json").exists());
        assert!(!dir.join("guardian-secrets.json").exists());
    }
}

#[tokio::test]
async fn a_wrong_peer_string_names_the_guardian_on_both_sides() {
    let g = guardians(&["alice", "bob", "carol", "dave"]).await;
    // Alice was handed an impostor's string for Dave's address: another key.
    let root = tempfile::tempdir().unwrap();
    let dave_port: u16 = {
        let init: serde_json::Value =
            serde_json::from_slice(&std::fs::read(g.dirs[3].join("guardian-init.json")).unwrap())
                .unwrap();
        let addr = init["setup"]["p2p_addr"].as_str().unwrap().to_string();
        addr.rsplit('/').next().unwrap().parse().unwrap()
    };
    let impostor = {
        // Another init on the same address: valid string, wrong peer id.
        let dir = root.path().join("dave");
        init(&dir, "dave", dave_port).await
    };
    let mut alice_peers = g.setups.clone();
    alice_peers[3] = impostor;
    let runs = vec![
        dkg(&g.dirs[0], &alice_peers, 6),
        dkg(&g.dirs[1], &g.setups, 6),
        dkg(&g.dirs[2], &g.setups, 6),
        dkg(&g.dirs[3], &g.setups, 6),
    ];
    let outputs = futures::future::join_all(runs).await;
    let alice = stderr(&outputs[0]);
    assert!(!outputs[0].status.success());
    // Whichever Alice notices first, she names Dave: she cannot reach the
    // impostor's key at Dave's address, or an honest guardian reports that
    // the strings differ in Dave's entry.
    let unreachable = alice.contains("(dave)") && alice.contains("could not reach");
    let differs = alice.contains("dave (peer id") && alice.contains("wrong --peer string");
    assert!(unreachable || differs, "{alice}");
    for output in &outputs[1..] {
        assert!(!output.status.success());
        let err = stderr(output);
        assert!(err.contains("(alice)"), "{err}");
    }
}
