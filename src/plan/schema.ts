/**
 * The plan format, declared once. TypeScript types are inferred from it, the JSON Schema
 * (schema/lifeboat.schema.json) is generated from it and docs/plan.md is written from the
 * same descriptions. Objects are strict so that a misspelt key is an error, not a silent no-op.
 *
 * Naming: YAML keys are snake_case, ids (the keys of `services`, `datasets`, ...) are
 * lowercase words joined by `-` or `_`. Durations are strings such as `30s`, `15m`, `4h`, `1d`.
 */
import { z } from 'zod';
import { Check, Dataset, Dependency, Repository, Retention, Service, Source } from './schema/assets.js';
import { Document, Objectives } from './schema/document.js';
import { Channel, Person, Role, Stakeholder, StatusPage, Team, Template, Vendor } from './schema/people.js';
import { Drill, Flag, Maintenance, Site, Testing, TrafficSwitch } from './schema/proof.js';
import { Probe, Runbook, STEP_ACTIONS, Scenario, Step } from './schema/response.js';
import { Id, Text } from './schema/scalars.js';
export { Cadence, Duration, DurationRange, Id, SecretRef } from './schema/scalars.js';
export { Source } from './schema/assets.js';
export { Probe, STEP_ACTIONS } from './schema/response.js';

export const PlanSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of the JSON Schema, for editors.'),
    version: z.literal(1).describe('Format version of this file. Always 1.'),
    organization: Text.describe('Who the plan is for.'),
    document: Document.optional(),
    objectives: Objectives.optional(),
    services: z.record(Id, Service).optional(),
    datasets: z.record(Id, Dataset).optional(),
    repositories: z.record(Id, Repository).optional(),
    probes: z.record(Id, Probe).optional(),
    scenarios: z.record(Id, Scenario).optional(),
    runbooks: z.record(Id, Runbook).optional(),
    people: z.record(Id, Person).optional(),
    roles: z.record(Id, Role).optional(),
    teams: z.record(Id, Team).optional(),
    vendors: z.record(Id, Vendor).optional(),
    channels: z.record(Id, Channel).optional(),
    stakeholders: z.record(Id, Stakeholder).optional().describe('The stakeholder notification matrix.'),
    templates: z.record(Id, Template).optional(),
    status_page: StatusPage.optional(),
    drills: z.record(Id, Drill).optional(),
    testing: Testing.optional(),
    maintenance: Maintenance.optional(),
    sites: z.record(Id, Site).optional().describe('Regions or data centres and what each holds.'),
    traffic: z.record(Id, TrafficSwitch).optional(),
    flags: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), Flag)
      .optional()
      .describe('Feature flags served to applications.'),
  })
  .describe('A disaster-recovery plan: lifeboat.yaml.');

export type Plan = z.infer<typeof PlanSchema>;
export type Service = z.infer<typeof Service>;
export type Dataset = z.infer<typeof Dataset>;
export type SourceConfig = z.infer<typeof Source>;
export type Repository = z.infer<typeof Repository>;
export type Probe = z.infer<typeof Probe>;
export type Scenario = z.infer<typeof Scenario>;
export type Runbook = z.infer<typeof Runbook>;
export type Step = z.infer<typeof Step>;
export type StepAction = (typeof STEP_ACTIONS)[number];
export type Person = z.infer<typeof Person>;
export type Role = z.infer<typeof Role>;
export type Team = z.infer<typeof Team>;
export type Channel = z.infer<typeof Channel>;
export type Stakeholder = z.infer<typeof Stakeholder>;
export type Template = z.infer<typeof Template>;
export type Drill = z.infer<typeof Drill>;
export type Dependency = z.infer<typeof Dependency>;
export type Check = z.infer<typeof Check>;
export type RetentionPolicy = z.infer<typeof Retention>;
