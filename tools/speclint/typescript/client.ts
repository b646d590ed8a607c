// A small program typed against what openapi-typescript generates from the demo's
// served /openapi.json. e2e's TestGeneratedTypeScriptTypes writes the generated types
// to openapi.ts beside a copy of this file and runs tsc --noEmit over it: a document
// change that breaks these uses, or loosens a type so that a @ts-expect-error line
// below stops being an error, fails the test.
import type { components, paths } from "./openapi";

type Car = components["schemas"]["Car"];
type Led = components["schemas"]["Led"];

// A read answers the car itself (not a union with its fields= projection).
type GetCar = paths["/cars/{id}"]["get"];
type CarRead = GetCar["responses"][200]["content"]["application/json"];
const read: CarRead = { id: 1, model: "Golf", color: "red", year: 2004 };
const model: string = read.model;
const year: number | undefined = read.year;
const notModified: GetCar["parameters"]["header"] = { "If-None-Match": '"r1"' };

// A list: paging, sorting and filter parameters, an array of cars.
type ListCars = paths["/cars"]["get"];
const query: NonNullable<ListCars["parameters"]["query"]> = {
  limit: 2, cursor: "opaque", sort: "-year,model", fields: "id,model", count: true,
  color: "red", "year[gte]": 2000, "model[prefix]": "Go", "color[in]": "red,blue",
};
const page: ListCars["responses"][200]["content"]["application/json"] = [read, { id: 2, model: "Zoe", color: "blue" }];

// Create: one car, or several in one request.
type CreateCar = paths["/cars"]["post"];
type CreateBody = CreateCar["requestBody"]["content"]["application/json"];
const one: CreateBody = { id: 3, model: "Model 3", color: "white" };
const several: CreateBody = [{ id: 4, model: "Ioniq", color: "grey", year: 2021 }];
const created: CreateCar["responses"][201]["content"]["application/json"] = one;

// Patch: a JSON Merge Patch with every field optional, guarded by If-Match.
type UpdateCar = paths["/cars/{id}"]["patch"];
const patch: UpdateCar["requestBody"]["content"]["application/merge-patch+json"] = { color: "green" };
const ifMatch: NonNullable<UpdateCar["parameters"]["header"]>["If-Match"] = '"r2"';
const stale: UpdateCar["responses"][412]["content"]["application/problem+json"] = {
  type: "about:blank", title: "Precondition Failed", status: 412, detail: "the car changed",
};

// An API with the status envelope wraps its answers.
type GetPerson = paths["/v1/people/{name}"]["get"];
const fred: GetPerson["responses"][200]["content"]["application/json"] = {
  status: "ok", result: { name: "fred", email: "fred@example.com", comment: null },
};

// The LED noun: an enum and a bounded integer.
const led: Led = { state: "on", brightness: 50 };

// An artefact's metadata, as a push answers it.
const pushed: paths["/artefacts/{dir}/{id}"]["put"]["responses"][201]["content"]["application/json"] = {
  directory: "releases", id: "app.tar.gz", version: 1, size: 42, sha256: "0".repeat(64),
  content_type: "application/gzip", created: "2024-05-01T12:00:00Z", updated: "2024-05-01T12:00:00Z",
};

// What must not type-check: the document's constraints reach the types.
// @ts-expect-error model is required
const noModel: Car = { id: 5, color: "red" };
// @ts-expect-error year is a number
const textYear: Car = { id: 6, model: "T", color: "black", year: "1908" };
// @ts-expect-error a read is a car: a projection's type would let color be missing
const projected: CarRead = { id: 7, model: "T" };
// @ts-expect-error state is "on" or "off"
const dim: Led = { state: "dim" };
// @ts-expect-error the envelope's status is "ok"
const notOK: GetPerson["responses"][200]["content"]["application/json"] = { status: "error", result: { email: "x@example.com" } };

export { model, year, notModified, query, page, several, created, patch, ifMatch, stale, fred, led, pushed, noModel, textYear, projected, dim, notOK };
