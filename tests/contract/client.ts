// Compiled against the types generated from the served OpenAPI document (`scripts/test`): if the
// document stops describing what the server sends, this stops compiling.
import type { components, operations } from "./api";

type Lead = components["schemas"]["LeadOut"];
type Accepted = components["schemas"]["Accepted"];
type Problem = components["schemas"]["Problem"];

// Optional fields arrive as null when they have no value.
const unassigned: Lead["assignee"] = null;
const notConverted: Lead["client_id"] = null;

// A command's answer.
const captured: operations["captureLead"]["responses"]["201"]["content"]["application/json; charset=utf-8"] = {
  id: "01935e2a-41c7-7b3e-9a10-44d26f8e5b21",
  position: 42,
  changed: true,
};
const sameAnswer: Accepted = captured;

// Errors are problem documents with field errors.
const problem: Problem = {
  type: "/problems/validation",
  title: "Invalid request",
  status: 400,
  detail: "phone: not an Indian mobile number",
  errors: [{ field: "phone", message: "not an Indian mobile number" }],
};

// A list request's query and a page of its answer.
const query: operations["listLeads"]["parameters"]["query"] = { status: "new", limit: 20 };
type LeadPage = operations["listLeads"]["responses"]["200"]["content"]["application/json; charset=utf-8"];
const lastPage: LeadPage["next_cursor"] = null;

// Sign-in needs no token; reading a lead does.
type Login = operations["login"]["requestBody"];
const login: NonNullable<Login>["content"]["application/json; charset=utf-8"] = {
  email: "agent1@demo.broker",
  password: "demo-agent-pass-1",
};

export const used = [unassigned, notConverted, sameAnswer, problem, query, lastPage, login];
