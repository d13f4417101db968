//! The `lookout` binary: wires the crates together behind one CLI.

fn main() -> anyhow::Result<()> {
    Ok(())
}
