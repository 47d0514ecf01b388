// The naive chat the benchmarks compare against: the design a first chat server in Node
// usually has. A line protocol read with readline; the first line names the room, every
// later line is a message written to each member of the room (the sender included) with
// one socket.write per client per message. No framing, no queues, no backpressure.
//
// Usage: node bench/peers/naive.mjs [--host 127.0.0.1] [--port 7000]   (port 0 picks a free one)

import net from "node:net";
import process from "node:process";
import readline from "node:readline";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

const rooms = new Map(); // room name -> Set of sockets

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let members = null;
  const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (members === null) {
      const room = line.trim() || "lobby";
      if (!rooms.has(room)) rooms.set(room, new Set());
      members = rooms.get(room);
      members.add(socket);
      socket.write(`joined ${room}\n`);
      return;
    }
    const out = line + "\n";
    for (const peer of members) peer.write(out);
  });
  socket.on("close", () => members?.delete(socket));
  socket.on("error", () => {}); // a reset is a leave, reported by "close"
});

server.listen(Number(arg("port", "7000")), arg("host", "127.0.0.1"), () => {
  const { address, port } = server.address();
  console.error(`naive: listening on ${address}:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
