/**
 * The store contract, run against the cluster's store: the JetStream log and the KV users, on a real
 * nats-server started for each test (.ci/run installs it).
 */

import { openCluster } from "../../src/store/jetstream/mod.ts";
import { type NatsServer, startNats } from "../_helpers/nats.ts";
import { storeContract } from "./contract.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let nats: (NatsServer & { urls: string[] }) | null = null;
let n = 0;

storeContract({
  name: "ClusterStore (JetStream)",
  durable: true,
  // The NATS client keeps timers and sockets past close(): not ours to sanitise.
  testOptions: { sanitizeOps: false, sanitizeResources: false },
  async open(retention) {
    nats = await startNats();
    return await openCluster({
      servers: nats.urls,
      name: `contract${++n}`,
      replicas: 1,
      retention: retention ?? {},
      replayMs: 3600_000,
      logger: quiet,
    });
  },
  async dispose() {
    await nats?.[Symbol.asyncDispose]();
    nats = null;
  },
});
