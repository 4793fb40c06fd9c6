//! What a Converse request may carry for each family of models Bedrock
//! serves: the one place the translation's per-family rules live.
//!
//! | family  | model ids         | `toolChoice.any` | `toolChoice.tool` | tool results beside other blocks | prefill | `outputConfig.textFormat` |
//! |---------|-------------------|------------------|-------------------|----------------------------------|---------|---------------------------|
//! | Claude  | `anthropic.claude`| yes              | yes [1]           | yes                              | yes [4] | 4.5 and later [5]         |
//! | Nova    | `amazon.nova`     | no [2]           | yes [1]           | yes                              | no      | no                        |
//! | Llama   | `meta.llama`      | no [3]           | no [1]            | no [6]                           | no      | no                        |
//! | Mistral | `mistral.`        | yes              | no [1]            | no [6]                           | no      | no                        |
//! | other   | any other id      | yes              | no [1]            | yes                              | no      | no                        |
//!
//! Sources. From a reference: [1] botocore's bedrock-runtime service model
//! (2023-09-30, botocore 1.44), `SpecificToolChoice`: "Only supported by
//! Anthropic Claude 3 and Amazon Nova models"; `ToolChoice.auto` is the
//! default, so `auto` is never sent. [4] the Converse reference documents
//! continuing an assistant turn for Claude only. [5] AWS's "Get validated
//! JSON results from models" guide: Converse takes `outputConfig.textFormat`
//! (`type: json_schema`, the schema as a JSON string), for Claude Haiku,
//! Sonnet and Opus 4.5 and later among Claude models. From reports, not a
//! reference: [2] Nova refuses `any` ("This model doesn't support the
//! toolConfig.toolChoice.any field", aws-samples/bedrock-access-gateway#92);
//! [3] Llama takes no forced tool choice (the same gateway leaves
//! `toolChoice` out for Llama 3.1); [6] Llama 3.3 and Mistral Large refuse
//! "Conversation blocks and tool result blocks … in the same turn"
//! (browser-use/browser-use reports). Open-weight families that take
//! structured output ("select" Qwen, DeepSeek, Mistral, Gemma… models) are
//! not named model by model in the guide, so they are not asked for it.
//!
//! A model named by an application inference profile's opaque ARN has no
//! family in its id: it is read as "other".

use crate::anthropic;

/// A family of models Bedrock serves, and what its Converse requests may
/// carry beyond the common core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The family's name, as said when a request cannot go to it.
    pub name: &'static str,
    /// Takes `toolChoice: {"any": {}}` (a client's `required`).
    pub forces_any_tool: bool,
    /// Takes `toolChoice: {"tool": {"name": …}}` (a client's named tool).
    pub forces_named_tool: bool,
    /// Takes tool results and other blocks (the user's words) in one turn.
    pub mixes_tool_results: bool,
    /// Continues a trailing assistant message natively.
    pub prefills: bool,
    /// Whether the model takes a JSON schema for its answer
    /// (`outputConfig.textFormat`); decided by [`Family::of`] from the id.
    pub structured_output: bool,
}

const CLAUDE: Family = Family {
    name: "Claude",
    forces_any_tool: true,
    forces_named_tool: true,
    mixes_tool_results: true,
    prefills: true,
    structured_output: false,
};

const NOVA: Family = Family {
    name: "Nova",
    forces_any_tool: false,
    forces_named_tool: true,
    mixes_tool_results: true,
    prefills: false,
    structured_output: false,
};

const LLAMA: Family = Family {
    name: "Llama",
    forces_any_tool: false,
    forces_named_tool: false,
    mixes_tool_results: false,
    prefills: false,
    structured_output: false,
};

const MISTRAL: Family = Family {
    name: "Mistral",
    forces_any_tool: true,
    forces_named_tool: false,
    mixes_tool_results: false,
    prefills: false,
    structured_output: false,
};

const OTHER: Family = Family {
    name: "this model family",
    forces_any_tool: true,
    forces_named_tool: false,
    mixes_tool_results: true,
    prefills: false,
    structured_output: false,
};

/// The families by the mark in their model ids (bare ids, cross-region
/// inference profiles such as `us.anthropic.claude-…` and ARNs alike).
const FAMILIES: &[(&str, Family)] = &[
    ("anthropic.claude", CLAUDE),
    ("amazon.nova", NOVA),
    ("meta.llama", LLAMA),
    ("mistral.", MISTRAL),
];

impl Family {
    /// The family of the model Bedrock knows as `model`.
    pub fn of(model: &str) -> Family {
        let Some((mark, family)) = FAMILIES.iter().find(|(mark, _)| model.contains(mark)) else {
            return OTHER;
        };
        Family {
            structured_output: *mark == "anthropic.claude"
                && anthropic::models::takes_json_schema(model),
            ..*family
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_found_in_ids_profiles_and_arns() {
        let claude = "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert_eq!(Family::of(claude).name, "Claude");
        assert!(Family::of(claude).structured_output);
        assert!(!Family::of("anthropic.claude-3-7-sonnet-20250219-v1:0").structured_output);
        assert_eq!(Family::of("us.amazon.nova-pro-v1:0"), NOVA);
        assert_eq!(Family::of("meta.llama3-3-70b-instruct-v1:0"), LLAMA);
        assert_eq!(Family::of("mistral.mistral-large-2407-v1:0"), MISTRAL);
        assert_eq!(Family::of("deepseek.r1-v1:0"), OTHER);
        assert_eq!(
            Family::of("arn:aws:bedrock:us-east-1:1:application-inference-profile/a1b2"),
            OTHER
        );
    }
}
