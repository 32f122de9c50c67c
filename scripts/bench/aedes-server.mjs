// aedes as a benchmark peer: a plain TCP MQTT server with aedes' defaults.
//   node scripts/bench/aedes-server.mjs PORT
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
server.listen(port, '127.0.0.1', () => console.error(`aedes listening on ${port}`));
const stop = () => broker.close(() => server.close(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
