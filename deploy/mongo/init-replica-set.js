// The `scale` profile's replica set (docker-compose.yml's `mongo-replica-set` job), run by mongosh
// against its first member: initiates the set from MONGO_REPLICA_SET and MONGO_MEMBERS once, then
// waits until a primary is elected, so the services that wait for this job find one to write to.
// A set initiated before is left as it is.
const name = process.env.MONGO_REPLICA_SET;
const members = process.env.MONGO_MEMBERS.split(",").map((host, index) => ({ _id: index, host }));

try {
  rs.status();
} catch (error) {
  if (error.codeName !== "NotYetInitialized") throw error;
  rs.initiate({ _id: name, members });
}

const deadline = Date.now() + 120 * 1000;
while (!db.hello().primary) {
  if (Date.now() > deadline) throw new Error(`replica set ${name} elected no primary in 120 s`);
  sleep(1000);
}
print(`replica set ${name}: primary ${db.hello().primary}`);
