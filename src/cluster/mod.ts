/**
 * The bus between the nodes of a cluster (bus.ts). Loaded only by `chat
 * serve --cluster`, with a computed import: a server without a cluster never
 * downloads the NATS client.
 *
 * @module
 */

export { type BusOptions, type BusSink, ClusterBus } from "./bus.ts";
