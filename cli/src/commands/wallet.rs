//! `sharemint wallet`: an ecash wallet (balance, send, receive, seed, restore).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use federation::client::{FederationClient, Wallet, WalletSeed};
use federation::{FederationConfig, Msat};

/// The wallet directory and what to do.
#[derive(Args)]
pub struct WalletArgs {
    /// The wallet's directory.
    #[arg(long, env = "SHAREMINT_WALLET_DIR")]
    dir: PathBuf,
    #[command(subcommand)]
    command: WalletCommand,
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Create a wallet for a federation and print its seed words.
    Init(FederationSource),
    /// Recreate a wallet from seed words and recover its notes from the guardians.
    Restore {
        #[command(flatten)]
        federation: FederationSource,
        /// The seed words, quoted.
        #[arg(long)]
        words: String,
    },
    /// Print the balance in msat.
    Balance,
    /// Print federation, guardians and notes as JSON.
    Info,
    /// Print the seed words.
    Seed,
    /// Take AMOUNT out as a note string (msat, or with a `sat` suffix).
    Send {
        /// e.g. `21000` (msat) or `21sat`.
        amount: String,
    },
    /// Redeem a note string (`-` reads it from stdin).
    Receive {
        /// The note string.
        notes: String,
    },
}

#[derive(Args)]
struct FederationSource {
    /// A guardian's API URL to fetch the federation config from.
    #[arg(long, conflicts_with = "config")]
    federation: Option<String>,
    /// A federation config file.
    #[arg(long)]
    config: Option<PathBuf>,
}

impl FederationSource {
    async fn load(&self) -> anyhow::Result<FederationConfig> {
        match (&self.federation, &self.config) {
            (Some(url), None) => Ok(FederationClient::fetch_config(url).await?),
            (None, Some(path)) => Ok(FederationConfig::read(path)?),
            _ => bail!("give --federation URL or --config FILE"),
        }
    }
}

/// Runs one wallet command.
pub async fn run(args: WalletArgs) -> anyhow::Result<()> {
    match args.command {
        WalletCommand::Init(source) => {
            let wallet = Wallet::create(&args.dir, source.load().await?, WalletSeed::generate())?;
            println!("{}", wallet.seed_words());
            eprintln!("write these words down: they restore the wallet");
        }
        WalletCommand::Restore { federation, words } => {
            let seed = WalletSeed::from_words(&words)?;
            let wallet = Wallet::create(&args.dir, federation.load().await?, seed)?;
            let recovered = wallet.recover().await?;
            println!("{}", recovered.msat());
        }
        command => run_on_wallet(&Wallet::open(&args.dir)?, command).await?,
    }
    Ok(())
}

async fn run_on_wallet(wallet: &Wallet, command: WalletCommand) -> anyhow::Result<()> {
    wallet.resume().await?;
    match command {
        WalletCommand::Balance => println!("{}", wallet.balance()?.msat()),
        WalletCommand::Info => println!("{}", serde_json::to_string_pretty(&wallet.info()?)?),
        WalletCommand::Seed => println!("{}", wallet.seed_words()),
        WalletCommand::Send { amount } => {
            println!("{}", wallet.send(parse_amount(&amount)?).await?)
        }
        WalletCommand::Receive { notes } => {
            let notes = if notes == "-" { read_stdin()? } else { notes };
            println!("{}", wallet.receive(&notes).await?.msat());
        }
        WalletCommand::Init(_) | WalletCommand::Restore { .. } => unreachable!("handled by run"),
    }
    Ok(())
}

fn parse_amount(text: &str) -> anyhow::Result<Msat> {
    let (digits, per_unit) = match text.strip_suffix("sat") {
        Some(sats) => (sats, 1000),
        None => (text.strip_suffix("msat").unwrap_or(text), 1),
    };
    let value: u64 = digits
        .trim()
        .parse()
        .with_context(|| format!("bad amount {text:?}"))?;
    let msats = value.checked_mul(per_unit).context("amount too large")?;
    Ok(Msat::from_msat(msats))
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text)
}
