//! `sharemint mine`.

use clap::Args;

#[derive(Args)]
pub struct MineArgs {}

pub async fn run(_args: MineArgs) -> anyhow::Result<()> {
    anyhow::bail!("`sharemint mine` is not built yet")
}
