# Two commands: `make run` (build everything, start the host) and `make test`.
WASM_TARGET := wasm32-unknown-unknown
STRATEGIES  := sma-ema spread scalping grid mean-reversion momentum arbitrage market-making
FIXTURES    := hostile future-contract plain-contract
WASM_OUT    := target/$(WASM_TARGET)/wasm
CARGO       ?= cargo

.PHONY: run test wasm wasm-target lint bench clean-plugins

run: wasm
	$(CARGO) run --release -p tradehost -- run

test: wasm
	$(CARGO) build -p tradehost
	$(CARGO) test --workspace

# The wasm target must exist even where rustup does not auto-install from
# rust-toolchain.toml (RUSTUP_AUTO_INSTALL=0).
wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)

# Every strategy and test fixture, as components; strategies are copied to plugins/.
wasm: wasm-target
	$(CARGO) build --profile wasm --target $(WASM_TARGET) $(addprefix -p ,$(STRATEGIES) $(FIXTURES))
	HOSTILE_BUILD=2 $(CARGO) build --profile wasm --target $(WASM_TARGET) -p hostile --target-dir target/fixture-v2
	@mkdir -p plugins
	@for s in $(STRATEGIES); do cp $(WASM_OUT)/$$(echo $$s | tr - _).wasm plugins/; done
	@ls -l plugins/*.wasm

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: wasm
	$(CARGO) bench -p tradehost
