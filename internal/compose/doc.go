// Package compose loads one color's Docker Compose project and runs it
// through the Docker Engine API, without a compose binary.
//
// Loading uses compose-go, so interpolation, .env files, env_file, merging of
// several -f files, extends and profiles behave exactly as in docker compose.
// Running is our own mapping of a documented subset of the service keys to
// Docker create calls, following docker/compose's getCreateConfigs. Check
// rejects everything outside that subset before anything starts, so a key we
// do not map can never be silently dropped.
//
// Containers, networks and volumes carry the labels docker compose sets.
// That is what lets users keep running `docker compose -p app-green ps`,
// `logs` or `down` on what the action created, and what lets List and Down
// find projects created earlier by docker-compose v1 (the seed's deploy.sh).
//
// The mapping is held to docker compose by a real peer: the conformance
// test creates every project under testdata/compose with the machine's
// docker-compose and with Up, and compares the inspected containers,
// networks and volumes field by field. The differences it allows, each with
// its reason, are listed in KNOWN-DIFFERENCES.md.
//
// A host port that is already taken fails Up with ErrPortInUse before the
// deploy gets near nginx, naming the container that holds it, or saying
// that a host process does and how to find it.
//
// A compose file describes a whole app, and only what must change with the
// version is doubled. ClassifyServices gives each service its role
// (colored, shared, job or singleton) from the inputs, x-bluegreen.role and
// depends_on; SplitProject turns a color's project into the parts the roles
// run in: the color (colored services and jobs), its singletons, and the
// shared services as project <base>-shared, which Converge brings to their
// definitions like docker compose up -d and no deploy otherwise touches.
// Named volumes are one volume for the whole app, <base>_<key>, never one
// per color.
package compose
