//! `sharemint devnet`.

use clap::Args;

#[derive(Args)]
pub struct DevnetArgs {}

pub async fn run(_args: DevnetArgs) -> anyhow::Result<()> {
    anyhow::bail!("`sharemint devnet` is not built yet")
}
