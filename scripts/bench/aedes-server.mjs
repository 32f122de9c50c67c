// aedes as a benchmark peer: a plain TCP MQTT server with aedes' defaults.
//   node scripts/bench/aedes-server.mjs PORT
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
// noDelay as Midge and Mosquitto (set_tcp_nodelay) run: Nagle would stall QoS 1/2 flows.
const server = net.createServer({ noDelay: true }, broker.handle);
server.listen(port, '127.0.0.1', () => console.error(`aedes listening on ${port}`));
const stop = () => broker.close(() => server.close(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
