//! `sharemint node`.

use clap::Args;

#[derive(Args)]
pub struct NodeArgs {}

pub async fn run(_args: NodeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`sharemint node` is not built yet")
}
